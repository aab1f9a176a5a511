// The player's quality menu for adaptive streaming: "Auto" (hls.js picks the rendition by measured
// bandwidth, starting from the source) or one pinned rendition; the button shows what plays now.
import { fillPlaceholders } from "./util.js";
import { menuItem } from "./player-subtitles.js";

export class QualityMenu {
  /** root: the player's element; texts: its data-t-* texts (tQualityAuto, tQualityAutoNow). */
  constructor(root, texts) {
    this.texts = texts;
    this.box = root.querySelector("[data-quality]");
    this.menu = root.querySelector("[data-quality-menu]");
    this.button = root.querySelector("[data-quality-button]");
    this.label = root.querySelector("[data-quality-label]");
    this.hls = null;
    this.button.addEventListener("click", () => this.toggle());
    this.menu.addEventListener("keydown", (e) => {
      if (e.key !== "Escape") return;
      this.close();
      this.button.focus();
    });
  }

  /** Follows an hls.js player loading a master playlist. */
  attach(hls, Hls) {
    this.hls = hls;
    hls.on(Hls.Events.MANIFEST_PARSED, () => {
      // hls.js would start from a guess of the bandwidth; the source plays first, like direct play.
      const source = hls.levels.findIndex((level) => level.name === "source");
      if (source >= 0) hls.startLevel = source;
      this.render();
    });
    hls.on(Hls.Events.LEVEL_SWITCHED, () => this.renderLabel());
  }

  name(level) {
    return level.name === "source" && level.height ? `${level.height}p` : level.name || `${level.height}p`;
  }

  render() {
    const levels = this.hls.levels;
    this.box.hidden = levels.length < 2;
    const highestFirst = levels.map((_level, i) => i).sort((a, b) => levels[b].height - levels[a].height);
    this.menu.replaceChildren(
      menuItem(this.choice(-1, this.texts.tQualityAuto)),
      ...highestFirst.map((i) => menuItem(this.choice(i, this.name(levels[i])))),
    );
    this.renderLabel();
  }

  choice(index, text) {
    const b = document.createElement("button");
    b.type = "button";
    b.setAttribute("role", "menuitemradio");
    b.dataset.level = String(index);
    b.textContent = text;
    b.addEventListener("click", () => {
      this.pin(index);
      this.close();
      this.button.focus();
    });
    return b;
  }

  /** Plays one rendition from the next segment on; -1 goes back to the automatic choice. */
  pin(index) {
    this.hls.currentLevel = index;
    this.renderLabel();
  }

  renderLabel() {
    const hls = this.hls;
    const playing = hls.levels[hls.currentLevel];
    const now = playing ? this.name(playing) : "";
    const auto = hls.autoLevelEnabled;
    this.label.textContent = auto ? fillPlaceholders(this.texts.tQualityAutoNow, { quality: now }) : now;
    this.box.dataset.playing = now;
    const chosen = String(auto ? -1 : hls.manualLevel);
    for (const b of this.menu.querySelectorAll("button")) {
      b.setAttribute("aria-checked", String(b.dataset.level === chosen));
    }
  }

  toggle() {
    const open = this.menu.hidden;
    this.menu.hidden = !open;
    this.button.setAttribute("aria-expanded", String(open));
    if (open) this.menu.querySelector('[aria-checked="true"]')?.focus();
  }

  close() {
    this.menu.hidden = true;
    this.button.setAttribute("aria-expanded", "false");
  }
}
