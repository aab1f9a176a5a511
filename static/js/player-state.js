// What the player shows on the video, one thing at a time: the start button, the busy line (a spinner
// with "Downloading 12 % · 3 peers · 2.1 MB/s · starts in about 4 s") or an error with "Try again".
import { fillPlaceholders } from "./util.js";
import { plural } from "./plural.js";

const LANG = document.documentElement.lang || "en";
const percent = new Intl.NumberFormat(LANG, { style: "percent", maximumFractionDigits: 0 });
// Seconds of film a player needs ahead of its position before it plays (about one HLS segment), and the
// bytes the server reads to probe a film before there is a plan.
const START_WINDOW_S = 4;
const PROBE_BYTES = 2 * 1024 * 1024;
const RATE_UNITS = ["byte-per-second", "kilobyte-per-second", "megabyte-per-second", "gigabyte-per-second"];

/** "2.1 MB/s" (or "2,1 Mo/s" in French) for a rate in bytes per second, 1 KB being 1024 bytes. */
export function formatRate(bytesPerSecond) {
  let value = Math.max(0, Number(bytesPerSecond) || 0);
  let unit = 0;
  while (value >= 1024 && unit < RATE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const format = new Intl.NumberFormat(LANG, {
    style: "unit",
    unit: RATE_UNITS[unit],
    maximumFractionDigits: unit ? 1 : 0,
  });
  return format.format(value);
}

/**
 * The download state in words, or "" when there is nothing to say (finished).
 * status: /stream/{id}/status ({progress 0..1, rate bytes/s, peers, state, size bytes|null});
 * neededBytes: bytes still missing before playback can go on (null: unknown, no estimate shown);
 * texts: the player's data-t-* texts.
 */
export function describeStatus(status, neededBytes, texts) {
  if (!status || status.progress >= 1 || status.state === "finished") return "";
  const rate = Number(status.rate) || 0;
  const peers = Number(status.peers) || 0;
  if (rate <= 0 && (status.state === "waiting_for_peers" || peers === 0)) return texts.tWaitingPeers;
  const parts = [
    fillPlaceholders(texts.tDownloading, { percent: percent.format(Math.floor((status.progress || 0) * 100) / 100) }),
    plural(texts.tPeersOne, texts.tPeersOther, peers),
    formatRate(rate),
  ];
  if (rate > 0 && Number.isFinite(neededBytes) && neededBytes > 0) {
    parts.push(fillPlaceholders(texts.tStartsIn, { seconds: Math.max(1, Math.ceil(neededBytes / rate)) }));
  }
  return parts.join(" · ");
}

/**
 * Bytes still to download before playback can go on, or null when unknown: the probe's head while there
 * is no plan (duration null), then START_WINDOW_S of film (as a share of the file's size) less what the
 * video has buffered ahead of its position, never more than the download still misses.
 */
export function neededBytes(status, duration, video) {
  const size = Number(status.size) || 0;
  if (!size) return null;
  const missing = size * (1 - (status.progress || 0));
  if (duration === null) return Math.min(missing, PROBE_BYTES);
  if (!duration) return null;
  let ahead = 0;
  for (let i = 0; i < video.buffered.length; i++) {
    if (video.buffered.start(i) <= video.currentTime + 0.5 && video.buffered.end(i) > video.currentTime) {
      ahead = video.buffered.end(i) - video.currentTime;
    }
  }
  return Math.min(missing, (size * Math.max(0, START_WINDOW_S - ahead)) / duration);
}

export class StateView {
  /** root: the player's element. */
  constructor(root) {
    this.root = root;
    this.start = root.querySelector("[data-start]");
    this.busy = root.querySelector("[data-busy]");
    this.text = root.querySelector("[data-state]");
    this.errorBox = root.querySelector("[data-error-box]");
    this.errorText = root.querySelector("[data-error]");
    this.kind = "idle";
  }

  /** kind: "idle" (the start button), "busy" (spinner and text), "error" (text and Try again) or
   * "none" (the video alone); the other states are hidden. */
  show(kind, text = "") {
    this.kind = kind;
    this.root.dataset.view = kind;
    this.start.hidden = kind !== "idle";
    this.busy.hidden = kind !== "busy";
    this.errorBox.hidden = kind !== "error";
    this.text.textContent = kind === "busy" ? text : "";
    this.errorText.textContent = kind === "error" ? text : "";
  }

  /** Changes the busy text without changing the state. */
  update(text) {
    if (this.kind === "busy") this.text.textContent = text;
  }
}
