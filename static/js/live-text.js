// Texts and small page pieces of the live scripts: the live panel's translated texts, download progress in
// words, people's pictures and profile links. All text is inserted with textContent.
import { fillPlaceholders, parseJSON } from "./util.js";
import { plural } from "./plural.js";

// The film page's live panel carries them all; the library carries those of the download badges.
const strings = parseJSON(document.querySelector("[data-live-strings]")?.dataset.liveStrings);

/** A text of the live scripts (already in the page's language), with its %(name)s placeholders filled. */
export function t(key, values = {}) {
  return fillPlaceholders(strings[key] || key, values);
}

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// Pictures come from other users' profiles: only our own paths and https addresses are shown.
function safeImageUrl(url) {
  return typeof url === "string" && (url.startsWith("/") || url.startsWith("https://")) ? url : "/static/img/avatar.svg";
}

/** A person's picture, decorative next to their name (hence the empty alt). */
export function avatar(className, url, size) {
  const image = el("img", className);
  image.src = safeImageUrl(url);
  image.alt = "";
  image.width = size;
  image.height = size;
  return image;
}

export function profileLink(className, username) {
  const link = el("a", className, username);
  link.href = `/users/${encodeURIComponent(username)}`;
  return link;
}

function formatRate(bytesPerSecond) {
  const units = ["B/s", "KB/s", "MB/s", "GB/s"];
  let value = Number(bytesPerSecond) || 0;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit ? 1 : 0)} ${units[unit]}`;
}

/** A download:progress event in words: "Ready to play", or the percentage, speed and peers. */
export function progressText(p) {
  if (p.ready && (p.progress ?? 0) >= 1) return t("ready");
  return t("progress", {
    percent: `${Math.floor((Number(p.progress) || 0) * 100)}%`,
    rate: formatRate(p.rate),
    peers: plural(t("peers_one"), t("peers_other"), Number(p.peers) || 0),
  });
}
