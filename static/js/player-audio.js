// The player's audio menu: every audio track of the film from the stream plan; choosing one reloads the
// playlist that carries it and playback carries on from the same time.
import { RadioMenu } from "./player-menu.js";

export class AudioMenu extends RadioMenu {
  /** onSwitch(url, master) loads another playlist (and master playlist of the renditions) at the
   * current time. */
  constructor(root, onSwitch) {
    super(root.querySelector("[data-audio-menu]"), root.querySelector("[data-audio-button]"));
    this.box = root.querySelector("[data-audio]");
    this.onSwitch = onSwitch;
    this.tracks = [];
  }

  load(tracks) {
    this.tracks = tracks.filter((t) => t.url);
    this.box.hidden = this.tracks.length < 2;
    this.fill(
      this.tracks.map((t) => ({ value: String(t.index), label: t.label })),
      (value) => this.choose(value),
    );
    const selected = this.tracks.find((t) => t.selected);
    if (selected) this.check(String(selected.index));
  }

  choose(value) {
    const track = this.tracks.find((t) => String(t.index) === value);
    if (!track) return;
    this.check(value);
    for (const t of this.tracks) t.selected = t === track;
    this.onSwitch(track.url, track.master);
  }
}
