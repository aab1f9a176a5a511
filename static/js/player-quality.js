// The player's quality menu for adaptive streaming: "Auto" (hls.js picks the rendition by measured
// bandwidth, starting from the source) or one pinned rendition; the button shows what plays now.
import { fillPlaceholders } from "./util.js";
import { RadioMenu } from "./player-menu.js";

const AUTO = "-1";
// Direct play that waits this long for data while playing steps down to the renditions.
const STALL_MS = 1500;

export class QualityMenu extends RadioMenu {
  /** root: the player's element; texts: its data-t-* texts (tQualityAuto, tQualityAutoNow,
   * tConverterWaiting). */
  constructor(root, texts) {
    super(root.querySelector("[data-quality-menu]"), root.querySelector("[data-quality-button]"));
    this.texts = texts;
    this.box = root.querySelector("[data-quality]");
    this.label = root.querySelector("[data-quality-label]");
    this.hls = null;
    this.pinned = null; // the pinned rendition's name, kept when another playlist is loaded
    this.steppedDown = false; // direct play moved to the renditions
    this.direct = null; // AbortController of the listeners followDirect put on the video
  }

  /** A new source of the film (another copy, a retry): forgets the closed hls.js player, the step
   * down and the listeners of the previous direct play, and hides the menu until a master playlist
   * is loaded again. The pinned rendition's name is kept. */
  reset() {
    this.direct?.abort();
    this.direct = null;
    this.hls = null;
    this.steppedDown = false;
    this.box.hidden = true;
  }

  /** The state to show while the video waits, from `/stream/{id}/status`: its `converter` says how
   * many of the film's rendition segments wait for a free transcode slot ("" when none). */
  describe(status) {
    return this.hls && status?.converter?.waiting > 0 ? this.texts.tConverterWaiting : "";
  }

  /** Direct play stepping down: when a film that plays directly has renditions (`plan.master`) and
   * the playing video waits for data longer than STALL_MS (the file comes slower than the film plays),
   * `stepDown()` is called once to play the renditions from the current time, starting on the one below
   * the source; hls.js then moves up again when the bandwidth allows. */
  followDirect(video, plan, stepDown) {
    this.direct?.abort(); // one set of listeners, for the source played now
    this.direct = null;
    if (plan.kind !== "direct" || !plan.master) return;
    this.direct = new AbortController();
    const options = { signal: this.direct.signal };
    let played = false;
    let timer = null;
    const clear = () => {
      clearTimeout(timer);
      timer = null;
    };
    options.signal.addEventListener("abort", clear); // a wait of the previous source steps nothing down
    video.addEventListener("playing", () => {
      played = true;
      clear();
    }, options);
    for (const name of ["seeking", "pause", "canplay"]) video.addEventListener(name, clear, options);
    video.addEventListener("emptied", () => {
      played = false; // another source (a copy of the film): its first wait is its start, not a slow link
      clear();
    }, options);
    video.addEventListener("waiting", () => {
      if (!played || timer || video.seeking || this.hls || this.steppedDown) return;
      timer = setTimeout(() => {
        timer = null;
        if (this.hls || video.paused || this.steppedDown) return;
        this.steppedDown = true;
        stepDown();
      }, STALL_MS);
    }, options);
  }

  /** Follows an hls.js player loading a master playlist. */
  attach(hls, Hls) {
    this.hls = hls;
    hls.on(Hls.Events.MANIFEST_PARSED, () => {
      // hls.js would start from a guess of the bandwidth; the source plays first, like direct play.
      const source = hls.levels.findIndex((level) => level.name === "source");
      const pinned = this.pinned === null ? -1 : hls.levels.findIndex((level) => level.name === this.pinned);
      if (pinned >= 0) {
        hls.startLevel = pinned;
        hls.loadLevel = pinned;
      } else if (this.steppedDown) {
        hls.startLevel = this.below(source);
      } else if (source >= 0) {
        hls.startLevel = source;
      }
      this.render();
    });
    hls.on(Hls.Events.LEVEL_SWITCHED, () => this.renderLabel());
  }

  /** The largest rendition smaller than level `source` (the smallest there is when none is). */
  below(source) {
    const levels = this.hls.levels;
    const height = source >= 0 ? levels[source].height : Infinity;
    let best = -1;
    levels.forEach((level, i) => {
      if (level.height < height && (best < 0 || level.height > levels[best].height)) best = i;
    });
    return best >= 0 ? best : source;
  }

  name(level) {
    return level.name === "source" && level.height ? `${level.height}p` : level.name || `${level.height}p`;
  }

  render() {
    const levels = this.hls.levels;
    this.box.hidden = levels.length < 2;
    const highestFirst = levels.map((_level, i) => i).sort((a, b) => levels[b].height - levels[a].height);
    this.fill(
      [
        { value: AUTO, label: this.texts.tQualityAuto },
        ...highestFirst.map((i) => ({ value: String(i), label: this.name(levels[i]) })),
      ],
      (value) => this.pin(Number(value)),
    );
    this.renderLabel();
  }

  /** Plays one rendition from the next segment on; -1 goes back to the automatic choice. */
  pin(index) {
    if (!this.hls) return; // the renditions' player is closed: the film plays directly now
    this.hls.currentLevel = index;
    this.pinned = index < 0 ? null : this.hls.levels[index]?.name ?? null;
    this.renderLabel();
  }

  renderLabel() {
    const hls = this.hls;
    const playing = hls.levels[hls.currentLevel];
    const now = playing ? this.name(playing) : "";
    const auto = hls.autoLevelEnabled;
    // Before the first rendition plays there is nothing to name yet: plain "Auto".
    const autoLabel = now ? fillPlaceholders(this.texts.tQualityAutoNow, { quality: now }) : this.texts.tQualityAuto;
    this.label.textContent = auto ? autoLabel : now;
    this.box.dataset.playing = now;
    this.check(auto ? AUTO : String(hls.manualLevel));
  }
}
