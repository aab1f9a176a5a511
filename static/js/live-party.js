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
 * Wires the panel's watch-together controls. `state.party` is the code of the party the page is in
 * (null for none); `rejoin()` joins the film's room again after it changed. Returns `showParty()`,
 * which brings the controls in line with `state.party`.
 */
export function watchTogether(socket, panel, movieId, state, rejoin) {
  const party = { last: null, receivedAt: 0, bound: null };
  const partyInfo = panel.querySelector("[data-party-info]");
  const partyStart = panel.querySelector("[data-party-start]");
  const partyNote = panel.querySelector("[data-party-note]");
  const linkInput = panel.querySelector("[data-party-link]");

  function video() {
    const found = document.querySelector("video[data-video], video[data-player]") || document.querySelector("video");
    if (found && party.bound !== found) bindVideo(found);
    return found;
  }

  function expectedPosition() {
    const s = party.last;
    if (!s) return null;
    return s.position + (s.playing ? (performance.now() - party.receivedAt) / 1000 : 0);
  }

  function inStep(v, playing) {
    const expected = expectedPosition();
    return (
      party.last &&
      party.last.playing === playing &&
      expected !== null &&
      Math.abs(v.currentTime - expected) < IN_STEP_SECONDS
    );
  }

  function sendParty(event, v) {
    if (!state.party || !socket.connected) return;
    const position = Math.round(v.currentTime * 1000) / 1000;
    socket.emit(event, { movie_id: movieId, position }, (reply) => {
      if (reply?.ok && reply.state) remember(reply.state);
    });
  }

  function bindVideo(v) {
    party.bound = v;
    v.addEventListener("play", () => { if (!inStep(v, true)) sendParty("party:play", v); });
    v.addEventListener("pause", () => { if (!v.ended && !inStep(v, false)) sendParty("party:pause", v); });
    v.addEventListener("seeked", () => {
      const expected = expectedPosition();
      if (expected === null || Math.abs(v.currentTime - expected) >= IN_STEP_SECONDS) sendParty("party:seek", v);
    });
    if (party.last) applyParty();
  }

  function remember(s) {
    party.last = s;
    party.receivedAt = performance.now();
  }

  function applyParty() {
    const v = video();
    const s = party.last;
    if (!v || !s) return;
    const target = expectedPosition();
    if (Math.abs(v.currentTime - target) > 0.75) {
      try { v.currentTime = target; } catch (e) { /* not seekable yet; the next state will catch up */ }
    }
    if (s.playing && v.paused) {
      const started = v.play();
      if (started && typeof started.catch === "function") started.catch(() => { partyNote.textContent = t("press_play"); });
    } else if (!s.playing && !v.paused) {
      v.pause();
    }
    panel.dataset.partyPlaying = String(Boolean(s.playing));
    panel.dataset.partyPosition = String(s.position);
  }

  socket.on("party:state", (s) => {
    if (s?.movie_id !== movieId || s.party !== state.party) return;
    remember(s);
    const key = { play: "played", pause: "paused", seek: "seeked" }[s.action] || (s.playing ? "played" : "paused");
    partyNote.textContent = t(key, { name: s.by, time: formatTime(s.position) });
    applyParty();
  });

  function showParty() {
    partyInfo.hidden = !state.party;
    partyStart.hidden = Boolean(state.party);
    linkInput.value = state.party ? partyLink(state.party) : "";
    if (state.party && !partyNote.textContent) partyNote.textContent = t("in_party");
    video();
  }

  function switchParty(code) {
    state.party = code;
    party.last = null;
    history.replaceState(null, "", partyLink(code));
    showParty();
    rejoin();
  }

  partyStart.addEventListener("click", () => {
    switchParty(newCode());
    linkInput.focus();
  });
  panel.querySelector("[data-party-leave]").addEventListener("click", () => {
    partyNote.textContent = "";
    switchParty(null);
    partyStart.focus();
  });
  panel.querySelector("[data-party-copy]").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(linkInput.value);
      partyNote.textContent = t("copied");
    } catch (e) {
      linkInput.select();
    }
  });
  showParty();
  // The player may be created after this script runs (it waits for the stream plan).
  new MutationObserver(() => { if (!party.bound) video(); }).observe(document.body, { childList: true, subtree: true });
  return showParty;
}
