// Pictures from our origin that could not be made (a refused cover) give way to the placeholder below.
document.addEventListener(
  "error",
  (event) => {
    if (event.target instanceof HTMLImageElement && event.target.hasAttribute("data-artwork")) event.target.remove();
  },
  true,
);
