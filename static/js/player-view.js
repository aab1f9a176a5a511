// How the player sits on the page: the theatre view (once started, the player takes the window below the
// sticky site header and is scrolled there), controls over the video that hide after a few idle seconds
// of playback, and full screen on the player's element (the video fills it, the controls stay over it).

const IDLE_MS = 3000;

export class PlayerView {
  /** root: the player's element; video: its <video>; menuOpen(): whether one of its menus is open. */
  constructor(root, video, menuOpen) {
    this.root = root;
    this.video = video;
    this.menuOpen = menuOpen;
    this.controls = root.querySelector("[data-controls]");
    this.idleTimer = null;
    for (const type of ["pointermove", "pointerdown", "keydown", "focusin"]) {
      root.addEventListener(type, () => this.wake());
    }
    root.addEventListener("pointerleave", () => this.sleep());
    video.addEventListener("playing", () => this.wake());
    video.addEventListener("pause", () => this.wake());
    window.addEventListener("resize", () => this.measure());
  }

  /** The sticky header's height, which the theatre view leaves visible. */
  measure() {
    const header = document.querySelector(".site-header");
    const top = header && getComputedStyle(header).position === "sticky" ? header.offsetHeight : 0;
    this.root.style.setProperty("--player-top", `${top}px`);
    return top;
  }

  /** The theatre view, scrolled into the window. */
  theatre() {
    const top = this.measure();
    this.root.classList.add("is-theatre");
    if (this.fullscreen()) return;
    this.root.scrollIntoView({ block: "start", behavior: "instant" });
    // A page too short to bring the player up to the header: the player fits the window where it is.
    const at = this.root.getBoundingClientRect().top;
    if (at > top + 1 && at < window.innerHeight / 2) this.root.style.setProperty("--player-top", `${at}px`);
  }

  /** Shows the controls; while the film plays they hide again after IDLE_MS without activity. */
  wake() {
    this.root.classList.remove("is-idle");
    clearTimeout(this.idleTimer);
    if (!this.video.paused) this.idleTimer = setTimeout(() => this.sleep(), IDLE_MS);
  }

  sleep() {
    clearTimeout(this.idleTimer);
    // Controls stay while paused, while the film waits for data (until "playing" wakes them again),
    // while a menu is open and while the keyboard is on one of them.
    const waiting = this.root.dataset.view === "busy";
    if (this.video.paused || waiting || this.menuOpen() || this.controls.querySelector(":focus-visible")) return;
    this.root.classList.add("is-idle");
  }

  fullscreen() {
    return document.fullscreenElement === this.root;
  }

  toggleFullscreen() {
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    else this.root.requestFullscreen?.().catch(() => {});
  }
}
