// Watch together: the page's <video data-video> (the player's, or else its only <video>) follows the
// party's play, pause and seek, and sends its own; the party's code is in the page address (?party=).
import { formatTime } from "./util.js";
import { t } from "./live-text.js";

const PARTY_CODE = /^[A-Za-z0-9_-]{6,40}$/;
// A video within this many seconds of the party's position counts as in step (no seek, nothing sent).
const IN_STEP_SECONDS = 1.5;

/** The party code of the page address, or null. */
export function partyFromUrl() {
  const code = new URL(location.href).searchParams.get("party");
  return code && PARTY_CODE.test(code) ? code : null;
}

function newCode() {
  const bytes = crypto.getRandomValues(new Uint8Array(9));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_");
}

/** The page address with the party's code (or without one when there is no party). */
function partyLink(code) {
  const url = new URL(location.href);
  url.hash = "";
  if (code) url.searchParams.set("party", code);
  else url.searchParams.delete("party");
  return url.toString();
}

/**
 * The panel's watch-together controls and the video they steer. `state.party` is the code of the party
 * the page is in (null for none); `rejoin()` joins the film's room again after it changed.
 */
export class WatchParty {
  constructor(socket, panel, movieId, state, rejoin) {
    Object.assign(this, { socket, panel, movieId, state, rejoin });
    this.last = null; // the party's last state, received at `receivedAt` (performance.now())
    this.receivedAt = 0;
    this.bound = null; // the <video> whose events are followed
    this.info = panel.querySelector("[data-party-info]");
    this.startButton = panel.querySelector("[data-party-start]");
    this.note = panel.querySelector("[data-party-note]");
    this.linkInput = panel.querySelector("[data-party-link]");
    socket.on("party:state", (s) => this.receive(s));
    this.bindControls();
    this.show();
    // The player may be created after this script runs (it waits for the stream plan).
    new MutationObserver(() => { if (!this.bound) this.video(); }).observe(document.body, { childList: true, subtree: true });
  }

  video() {
    const found = document.querySelector("video[data-video], video[data-player]") || document.querySelector("video");
    if (found && this.bound !== found) this.bindVideo(found);
    return found;
  }

  expectedPosition() {
    const s = this.last;
    if (!s) return null;
    return s.position + (s.playing ? (performance.now() - this.receivedAt) / 1000 : 0);
  }

  inStep(v, playing) {
    const expected = this.expectedPosition();
    return (
      this.last &&
      this.last.playing === playing &&
      expected !== null &&
      Math.abs(v.currentTime - expected) < IN_STEP_SECONDS
    );
  }

  send(event, v) {
    if (!this.state.party || !this.socket.connected) return;
    const position = Math.round(v.currentTime * 1000) / 1000;
    this.socket.emit(event, { movie_id: this.movieId, position }, (reply) => {
      if (reply?.ok && reply.state) this.remember(reply.state);
    });
  }

  bindVideo(v) {
    this.bound = v;
    v.addEventListener("play", () => { if (!this.inStep(v, true)) this.send("party:play", v); });
    v.addEventListener("pause", () => { if (!v.ended && !this.inStep(v, false)) this.send("party:pause", v); });
    v.addEventListener("seeked", () => {
      const expected = this.expectedPosition();
      if (expected === null || Math.abs(v.currentTime - expected) >= IN_STEP_SECONDS) this.send("party:seek", v);
    });
    if (this.last) this.apply();
  }

  remember(s) {
    this.last = s;
    this.receivedAt = performance.now();
  }

  apply() {
    const v = this.video();
    const s = this.last;
    if (!v || !s) return;
    const target = this.expectedPosition();
    if (Math.abs(v.currentTime - target) > 0.75) {
      try { v.currentTime = target; } catch (e) { /* not seekable yet; the next state will catch up */ }
    }
    if (s.playing && v.paused) {
      const started = v.play();
      if (started && typeof started.catch === "function") started.catch(() => { this.note.textContent = t("press_play"); });
    } else if (!s.playing && !v.paused) {
      v.pause();
    }
    this.panel.dataset.partyPlaying = String(Boolean(s.playing));
    this.panel.dataset.partyPosition = String(s.position);
  }

  receive(s) {
    if (s?.movie_id !== this.movieId || s.party !== this.state.party) return;
    this.remember(s);
    const key = { play: "played", pause: "paused", seek: "seeked" }[s.action] || (s.playing ? "played" : "paused");
    this.note.textContent = t(key, { name: s.by, time: formatTime(s.position) });
    this.apply();
  }

  /** Brings the controls in line with `state.party`. */
  show() {
    const code = this.state.party;
    this.info.hidden = !code;
    this.startButton.hidden = Boolean(code);
    this.linkInput.value = code ? partyLink(code) : "";
    if (code && !this.note.textContent) this.note.textContent = t("in_party");
    this.video();
  }

  switchTo(code) {
    this.state.party = code;
    this.last = null;
    history.replaceState(null, "", partyLink(code));
    this.show();
    this.rejoin();
  }

  bindControls() {
    this.startButton.addEventListener("click", () => {
      this.switchTo(newCode());
      this.linkInput.focus();
    });
    this.panel.querySelector("[data-party-leave]").addEventListener("click", () => {
      this.note.textContent = "";
      this.switchTo(null);
      this.startButton.focus();
    });
    this.panel.querySelector("[data-party-copy]").addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(this.linkInput.value);
        this.note.textContent = t("copied");
      } catch (e) {
        this.linkInput.select();
      }
    });
  }
}
