// Pictures from our origin that could not be made (a refused cover) give way to the placeholder below.
const drop = (img) => {
  if (img instanceof HTMLImageElement && img.hasAttribute("data-artwork")) img.remove();
};
document.addEventListener("error", (event) => drop(event.target), true);
// Those that failed before this module ran (modules run after parsing).
for (const img of document.querySelectorAll("img[data-artwork]")) {
  if (img.complete && img.naturalWidth === 0) drop(img);
}
