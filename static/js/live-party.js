// Watch together, the panel side: starting and leaving a party (its code is in the page address,
// ?party=), the link to share, who is in the group and who is buffering, and what the group is doing.
// The page's <video data-video> (the player's, or else its only <video>) follows the group through
// GroupSync (live-party-sync.js).
import { formatTime } from "./util.js";
import { el, t } from "./live-text.js";
import { GroupSync } from "./live-party-sync.js";

const PARTY_CODE = /^[A-Za-z0-9_-]{6,40}$/;

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
    this.bound = null; // the <video> followed
    this.info = panel.querySelector("[data-party-info]");
    this.startButton = panel.querySelector("[data-party-start]");
    this.note = panel.querySelector("[data-party-note]");
    this.linkInput = panel.querySelector("[data-party-link]");
    this.members = panel.querySelector("[data-party-members]");
    const emit = (event, payload, ack) => {
      if (this.state.party && this.socket.connected) this.socket.emit(event, payload, ack);
    };
    this.sync = new GroupSync(
      emit,
      movieId,
      (s, blocked) => this.showGroup(s, blocked),
      () => { panel.dataset.partyInStep = String(this.sync?.synced ?? false); },
    );
    socket.on("party:state", (s) => {
      if (s?.party === this.state.party) this.sync.receive(s);
    });
    socket.on("party:members", (m) => {
      if (m?.movie_id === this.movieId && m.party === this.state.party) this.renderMembers(m.members || []);
    });
    this.bindControls();
    this.show();
    // The player may be created after this script runs.
    new MutationObserver(() => { if (!this.bound) this.video(); }).observe(document.body, { childList: true, subtree: true });
  }

  video() {
    const found = document.querySelector("video[data-video], video[data-player]") || document.querySelector("video");
    if (found && this.bound !== found) {
      this.bound = found;
      this.offered = false;
      this.sync.bind(found);
    }
    if (found && !this.offered) this.offered = this.offerStartPosition(found);
    return found;
  }

  /** The player (player.js) starts a film where the group is, rather than where this viewer stopped. */
  offerStartPosition(v) {
    const player = v.closest("[data-player]")?.player;
    if (!player) return false;
    player.startAt = () => {
      const g = this.state.party ? this.sync.group : null;
      return g && g.state !== "idle" ? this.sync.expected() : null;
    };
    return true;
  }

  /** The join reply: `party` is the group's state, or null while nobody has pressed play in it;
   * `serverTime` the reply's server time, for a request sent at `sent` and answered at `received`
   * (this page's epoch seconds). */
  joined(party, serverTime, sent, received) {
    this.show(); // also finds the video and the player, if they came later
    if (!this.state.party) return;
    this.sync.clock(serverTime, sent, received);
    this.sync.joined(party);
  }

  showGroup(s, blocked = false) {
    this.panel.dataset.partyState = s.state;
    this.panel.dataset.partyPlaying = String(s.state === "playing");
    this.panel.dataset.partyPosition = String(s.position);
    const v = this.bound;
    const time = formatTime(s.position);
    let text;
    if (blocked || (s.state === "playing" && v && v.readyState < 1)) text = t("press_play");
    else if (s.state === "waiting") text = s.action === "buffering" ? t("waiting_for", { name: s.by }) : t("waiting");
    else {
      const key = { play: "played", pause: "paused", seek: "seeked" }[s.action] || (s.state === "playing" ? "group_playing" : "group_paused");
      text = t(key, { name: s.by || "", time });
    }
    this.note.textContent = text;
  }

  renderMembers(members) {
    const items = members.map((m) => {
      const item = el("li", "live-party-member");
      item.dataset.status = m.status;
      item.append(el("span", "live-party-name", m.username), el("span", "live-party-status", t(`member_${m.status}`)));
      return item;
    });
    this.members.replaceChildren(...items);
  }

  /** Brings the controls in line with `state.party`. */
  show() {
    const code = this.state.party;
    this.info.hidden = !code;
    this.startButton.hidden = Boolean(code);
    this.linkInput.value = code ? partyLink(code) : "";
    if (code && !this.note.textContent) this.note.textContent = t("in_party");
    if (!code) this.members.replaceChildren();
    this.video();
  }

  switchTo(code) {
    this.state.party = code;
    this.sync.reset();
    delete this.panel.dataset.partyState;
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
