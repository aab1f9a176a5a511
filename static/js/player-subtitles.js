// The player's subtitles: one <track> a language offered by the stream plan, the CC menu that chooses
// which one shows (the last choice is remembered for this user in this browser), and the offset control
// that moves every cue earlier or later for subtitles out of sync. While the controls show, the cues
// rise above their bar (a cue's own `line` setting: `::cue` cannot move).
import { RadioMenu } from "./player-menu.js";

const OFFSET_STEP = 0.5;
const CUE_LINE = 0.05; // a cue line at least, as a share of the video's height (the cue font size)

function remembered(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null; // storage refused (private mode): nothing remembered
  }
}

function remember(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    // storage refused: the choice lasts for this page only
  }
}

export class SubtitlesMenu extends RadioMenu {
  /** root: the player's element; texts: its data-t-* texts (tSubtitlesOff, tNoSubtitles, tSubtitleOffset). */
  constructor(root, video, texts) {
    super(root.querySelector("[data-subs-menu]"), root.querySelector("[data-subs-button]"));
    this.root = root;
    this.video = video;
    this.texts = texts;
    this.controls = root.querySelector("[data-controls]");
    this.lifted = 0; // cue lines the cues rise by
    this.fileLines = new WeakMap(); // cue -> its own `line` before any lift
    new MutationObserver(() => this.place()).observe(root, { attributes: true, attributeFilter: ["class"] });
    if (window.ResizeObserver) new ResizeObserver(() => this.place()).observe(video);
    this.key = `hypertube.subtitles.${root.dataset.userId || ""}`;
    this.lang = "";
    this.offset = 0;
    this.offsetLabel = root.querySelector("[data-subs-offset]");
    for (const b of root.querySelectorAll("[data-subs-shift]")) {
      b.addEventListener("click", () => this.shift(Number(b.dataset.subsShift) * OFFSET_STEP));
    }
  }

  /** Adds the plan's subtitles (already in menu order) and shows the remembered language, else the
   * page's language (English needs none). */
  load(subtitles) {
    for (const sub of subtitles) {
      const track = document.createElement("track");
      track.kind = "subtitles";
      track.src = sub.url;
      track.srclang = sub.lang;
      track.label = sub.label;
      track.dataset.lang = sub.lang;
      // Cues arrive when a track loads: they get the offset already chosen.
      track.addEventListener("load", () => {
        this.move(track.track, this.offset);
        this.place(true);
      });
      this.video.append(track);
    }
    const items = [{ value: "", label: this.texts.tSubtitlesOff }];
    for (const sub of subtitles) items.push({ value: sub.lang, label: sub.label });
    this.fill(items, (lang) => this.choose(lang, true));
    if (!subtitles.length) this.note(this.texts.tNoSubtitles);
    const langs = subtitles.map((s) => s.lang);
    const saved = remembered(this.key);
    const prefer = document.documentElement.lang;
    // Tracks load only when not disabled: keep them hidden (loaded, not shown) unless chosen.
    if (saved !== null && (saved === "" || langs.includes(saved))) this.choose(saved);
    else this.choose(langs.includes(prefer) && prefer !== "en" ? prefer : "");
    this.renderOffset();
  }

  choose(lang, byUser = false) {
    this.lang = lang;
    for (const track of this.video.textTracks) {
      if (track.kind !== "subtitles" && track.kind !== "captions") continue;
      track.mode = lang && track.language === lang ? "showing" : "hidden";
    }
    this.check(lang);
    this.place(true);
    this.button.classList.toggle("is-on", Boolean(lang));
    if (byUser) remember(this.key, lang);
  }

  /** Lifts the cues with no line of their own above the control bar while it shows (its height less the
   * fading margin above it, in cue lines of 5 % of the video's height: a negative `line` counts from the
   * bottom; `lineAlign` is not honoured by every browser), and puts them back at the bottom when it
   * hides. `force`: also when the lift is unchanged (new cues). */
  place(force = false) {
    const shown = this.root.classList.contains("is-started") && !this.root.classList.contains("is-idle");
    const height = this.video.clientHeight;
    let lift = 0;
    if (shown && height && this.controls) {
      const bar = this.controls.offsetHeight - parseFloat(getComputedStyle(this.controls).paddingTop || "0");
      lift = Math.min(10, Math.ceil(bar / (height * CUE_LINE)));
    }
    if (lift === this.lifted && !force) return;
    this.lifted = lift;
    for (const track of this.video.textTracks) {
      for (const cue of Array.from(track.cues || [])) {
        if (!("line" in cue)) continue;
        if (!this.fileLines.has(cue)) this.fileLines.set(cue, cue.line);
        if (this.fileLines.get(cue) !== "auto") continue; // placed by its file: left there
        cue.snapToLines = true;
        cue.line = lift ? -1 - lift : "auto";
      }
    }
  }

  /** Moves every loaded cue by `delta` seconds (negative: earlier). */
  shift(delta) {
    this.offset = Math.round((this.offset + delta) * 10) / 10;
    for (const track of this.video.textTracks) this.move(track, delta);
    this.renderOffset();
  }

  move(track, delta) {
    if (!delta) return;
    for (const cue of Array.from(track.cues || [])) {
      cue.startTime = Math.max(0, cue.startTime + delta);
      cue.endTime = Math.max(cue.startTime, cue.endTime + delta);
    }
  }

  renderOffset() {
    if (!this.offsetLabel) return;
    const text = `${this.offset > 0 ? "+" : ""}${this.offset.toFixed(1)} s`;
    this.offsetLabel.textContent = text;
    this.offsetLabel.title = (this.texts.tSubtitleOffset || "").replace("%(offset)s", text);
  }

  /** The next language, then none again (the c key). */
  cycle() {
    const langs = ["", ...Array.from(this.video.querySelectorAll("track")).map((t) => t.dataset.lang)];
    if (langs.length < 2) return;
    this.choose(langs[(langs.indexOf(this.lang || "") + 1) % langs.length], true);
  }
}
