// The film player: asks the server for a play plan, plays it (directly or through HLS with hls.js),
// custom controls, keyboard shortcuts, resume and watched marks; what shows on the video (start, busy,
// error) in player-state.js, the theatre view, idle controls and full screen in player-view.js, subtitles
// in player-subtitles.js, the audio menu in player-audio.js, the quality menu in player-quality.js.
import { fetchJSON, fillPlaceholders, formatTime, toast } from "./util.js";
import { StateView, describeStatus, neededBytes } from "./player-state.js";
import { PlayerView } from "./player-view.js";
import { playerKey } from "./player-keys.js";
import { SubtitlesMenu } from "./player-subtitles.js";
import { AudioMenu } from "./player-audio.js";
import { QualityMenu } from "./player-quality.js";
import { NodeFollower } from "./player-node.js";
import { CopyFollower, copyNote } from "./player-copy.js";

const SAVE_EVERY_MS = 15000;
const STATUS_EVERY_MS = 1000;
const MEDIA_ERRORS = { 2: "tErrorNetwork", 3: "tErrorDecode", 4: "tErrorFormat" };

// Icons are symbols of one SVG sprite; a button's icon changes by pointing its <use> at another symbol.
function setIcon(button, name) {
  const use = button.querySelector("[data-icon] use");
  if (!use) return;
  const href = use.getAttribute("href");
  use.setAttribute("href", `${href.split("#")[0]}#${name}`);
}

class Player {
  constructor(root) {
    this.root = root;
    this.movieId = root.dataset.movieId;
    this.t = root.dataset;
    this.video = root.querySelector("[data-video]");
    this.q = (sel) => root.querySelector(sel);
    this.plan = null;
    this.hls = null;
    this.started = false;
    this.markedWatched = false;
    this.lastSaved = 0;
    this.statusTimer = null;
    this.waiting = false;
    this.resumeAt = null; // seconds: where a source being loaded goes on from
    this.view = new StateView(root);
    this.layout = new PlayerView(root, this.video, () => this.menus.some((m) => !m.menu.hidden));
    this.subtitles = new SubtitlesMenu(root, this.video, this.t);
    this.audio = new AudioMenu(root, (url, master) => this.switchSource(url, master));
    this.quality = new QualityMenu(root, this.t);
    this.follower = new NodeFollower((url, master) => this.switchSource(url, master));
    this.copies = new CopyFollower(
      () => fetchJSON(`/stream/${this.movieId}/status`),
      (status) => this.changeCopy(status),
    );
    this.bind();
  }

  get menus() {
    return [this.subtitles, this.audio, this.quality];
  }

  bind() {
    const v = this.video;
    this.q("[data-start]").addEventListener("click", () => this.watch());
    this.q("[data-retry]").addEventListener("click", () => this.retry());
    for (const button of document.querySelectorAll(`[data-watch][aria-controls="${this.root.id}"]`)) {
      button.addEventListener("click", () => this.watch());
    }
    this.q("[data-play]").addEventListener("click", () => this.toggle());
    v.addEventListener("click", () => this.toggle());
    v.addEventListener("dblclick", () => this.layout.toggleFullscreen());
    this.q("[data-mute]").addEventListener("click", () => this.toggleMute());
    this.q("[data-fullscreen]").addEventListener("click", () => this.layout.toggleFullscreen());
    const seek = this.q("[data-seek]");
    seek.addEventListener("input", () => {
      this.seeking = true;
      const t = this.sliderTime();
      this.q("[data-time]").textContent = formatTime(t);
      seek.setAttribute("aria-valuetext", formatTime(t));
    });
    seek.addEventListener("change", () => {
      this.seeking = false;
      this.seekTo(this.sliderTime());
    });
    const volume = this.q("[data-volume]");
    volume.addEventListener("input", () => {
      v.volume = Number(volume.value);
      v.muted = v.volume === 0;
    });
    v.addEventListener("play", () => this.renderPlay());
    v.addEventListener("pause", () => {
      this.renderPlay();
      this.savePosition(true); // where the viewer stopped, however soon after the last save
    });
    v.addEventListener("playing", () => {
      this.resumeAt = null; // the video's own time is the film's again
      this.setWaiting(false);
      this.follower.playing();
      if (!this.markedWatched) {
        this.markedWatched = true;
        this.savePosition(true);
      }
    });
    v.addEventListener("waiting", () => this.setWaiting(true));
    v.addEventListener("seeking", () => this.setWaiting(true));
    v.addEventListener("seeked", () => this.setWaiting(false));
    v.addEventListener("canplay", () => this.setWaiting(false));
    v.addEventListener("timeupdate", () => this.renderTime());
    v.addEventListener("progress", () => this.renderBuffered());
    v.addEventListener("volumechange", () => this.renderVolume());
    v.addEventListener("error", () => {
      if (!this.hls && !this.switching && v.error) {
        if (v.error.code === MediaError.MEDIA_ERR_NETWORK && this.follower.failed(this.plan, v.src)) return;
        this.fail(this.t.tFailed);
      }
    });
    this.root.addEventListener("keydown", (e) => this.onKey(e));
    // Keys that reach the page itself (nothing focused) belong to a started player: Space must not scroll.
    document.addEventListener("keydown", (e) => {
      if (!this.started || (document.activeElement && document.activeElement !== document.body)) return;
      const box = this.root.getBoundingClientRect();
      if (box.bottom <= 0 || box.top >= window.innerHeight) return; // the player scrolled away: the page's keys
      this.onKey(e);
      if (e.defaultPrevented) this.root.focus({ preventScroll: true });
    });
    document.addEventListener("fullscreenchange", () => this.renderFullscreen());
    document.addEventListener("click", (e) => {
      for (const menu of this.menus) {
        if (!menu.menu.parentElement.contains(e.target)) menu.close();
      }
    });
    window.addEventListener("pagehide", () => this.savePosition());
  }

  duration() {
    const d = this.plan?.duration;
    if (Number.isFinite(d) && d > 0) return d;
    return Number.isFinite(this.video.duration) ? this.video.duration : 0;
  }

  sliderTime() {
    return (Number(this.q("[data-seek]").value) / 1000) * this.duration();
  }

  /** Starts (or resumes) the film in the theatre view, the keyboard kept in the player. */
  watch() {
    this.layout.theatre();
    this.root.focus({ preventScroll: true });
    return this.start();
  }

  /** After an error: forgets the plan and the loaded stream, then starts again. */
  retry() {
    this.copies.stop();
    if (this.hls) this.hls.destroy();
    this.hls = null;
    this.quality.reset();
    this.plan = null;
    this.started = false;
    this.video.removeAttribute("src");
    this.video.load();
    this.root.focus({ preventScroll: true });
    return this.start();
  }

  async start() {
    if (this.started) return this.video.play().catch(() => {});
    this.started = true;
    this.root.classList.add("is-started");
    this.view.show("busy", this.t.tPreparing);
    this.pollStatus();
    let plan;
    try {
      plan = await fetchJSON(this.root.dataset.plan || `/stream/${this.movieId}`);
    } catch (err) {
      this.started = false;
      this.root.classList.remove("is-started");
      // An answer without the server's own message says its status; no answer says so (fetchJSON).
      return this.fail(err.status && !err.code ? fillPlaceholders(this.t.tServerError, { status: err.status }) : err.message);
    }
    this.plan = plan;
    this.q("[data-duration]").textContent = formatTime(plan.duration);
    this.subtitles.load(plan.subtitles || []);
    this.audio.load(plan.audio_tracks || []);
    const resume = this.groupStart() ?? (plan.position > 5 && plan.position < plan.duration - 10 ? plan.position : 0);
    await this.load(plan, resume);
    this.followDirect(plan);
    this.video.play().catch(() => {
      // Autoplay may be refused until the user interacts again; the play button stays available.
      this.renderPlay();
    });
    this.copies.follow(plan);
  }

  /** Steps the direct play of `plan` (the source just loaded) down to its renditions on a slow link. */
  followDirect(plan) {
    this.quality.followDirect(this.video, plan, () => {
      // The plan's master playlist now: an audio track may have been chosen since it started.
      const master = this.plan.master || plan.master;
      this.plan = { ...this.plan, kind: "hls" }; // direct play steps down to the renditions
      this.switchSource(master.replace("/master.m3u8", "/index.m3u8"), master);
    });
  }

  /** The server moved the film to another copy (smaller when this one downloads too slowly, larger
   * once that one is whole): a new plan, played from the same time, and a note saying why. */
  async changeCopy(status) {
    let plan;
    try {
      plan = await fetchJSON(this.root.dataset.plan || `/stream/${this.movieId}`);
    } catch (err) {
      return; // asked again at the next check
    }
    if (!plan.copy || plan.copy === this.plan?.copy) return;
    await this.replaceSource(plan, {
      before: () => {
        this.quality.reset(); // the menu follows the new copy's own player and step down
        this.copies.plan = plan;
        this.q("[data-duration]").textContent = formatTime(plan.duration);
        this.audio.load(plan.audio_tracks || []); // their playlists name the new copy
      },
      after: () => this.followDirect(plan),
    });
    const note = copyNote(status, this.t, fillPlaceholders);
    if (note) toast(note, "info");
    this.root.dataset.copy = plan.copy;
  }

  /** Hook for watching together (live-party.js sets `startAt`): where the group is, or null. */
  groupStart() {
    const at = typeof this.startAt === "function" ? this.startAt() : null;
    return Number.isFinite(at) && at > 0 ? at : null;
  }

  async load(plan, resume) {
    const v = this.video;
    this.resumeAt = resume || null;
    v.preload = "auto";
    // hls.js plays the master playlist wherever Media Source Extensions exist, so the quality menu works
    // even where the browser plays HLS itself; elsewhere the browser plays the source's playlist.
    const Hls = plan.kind === "hls" ? (await import("/static/vendor/hls.mjs")).default : null;
    const native = v.canPlayType("application/vnd.apple.mpegurl");
    if (Hls && !Hls.isSupported() && !native) return this.fail(this.t.tErrorFormat);
    if (Hls && Hls.isSupported()) {
      const hls = new Hls({
        startPosition: resume || -1,
        maxBufferLength: 30,
        backBufferLength: 60,
        fragLoadingTimeOut: 120000,
        fragLoadingMaxRetry: 6,
        manifestLoadingTimeOut: 60000,
        // The page's own <track> elements carry the subtitles, and the playlists have neither subtitle
        // groups nor captions: hls.js would switch those tracks off when it plays a master playlist
        // without subtitle groups, and its captions controller empties the cues of every text track of
        // the video when it attaches, so after an audio switch the loaded tracks would stay empty.
        subtitleTrackController: null,
        subtitleStreamController: null,
        timelineController: null,
        xhrSetup: (xhr) => {
          xhr.withCredentials = true;
        },
      });
      this.hls = hls;
      this.quality.attach(hls, Hls);
      hls.on(Hls.Events.ERROR, (_event, data) => {
        const code = data.response?.code ?? 0;
        const unreachable = data.type === Hls.ErrorTypes.NETWORK_ERROR && (code === 0 || code === 502 || code === 503);
        if (unreachable && this.follower.failed(this.plan, data.url || data.frag?.url || data.context?.url)) return;
        if (!data.fatal) return;
        if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
          hls.recoverMediaError();
        } else if (data.type === Hls.ErrorTypes.NETWORK_ERROR) {
          this.view.show("busy", this.t.tWaitingPeers);
          setTimeout(() => hls.startLoad(), 3000);
        } else {
          this.fail(this.t.tErrorStream);
        }
      });
      hls.loadSource(plan.master || plan.url);
      hls.attachMedia(v);
    } else {
      v.src = plan.url;
      if (resume) {
        v.addEventListener("loadedmetadata", () => (v.currentTime = this.resumeAt ?? resume), { once: true });
      }
    }
  }

  /** Where the film is, in seconds: the time a new source goes on from until it plays (the video's
   * own time is 0 until then), else the video's. */
  position() {
    return this.resumeAt ?? this.video.currentTime;
  }

  /** Other playlists of the same film (another audio track: its own and its renditions' master
   * playlist), from the same time. */
  async switchSource(url, master) {
    await this.replaceSource({ ...this.plan, url, master: master || undefined });
  }

  /** Plays `plan` from the time the film is at, playing or paused as it was: `before` runs once the
   * old hls.js player is gone, `after` once the new source has loaded. */
  async replaceSource(plan, { before = () => {}, after = () => {} } = {}) {
    const v = this.video;
    const t = this.position();
    const paused = v.paused;
    this.switching = true;
    if (this.hls) {
      this.hls.destroy();
      this.hls = null;
    }
    before();
    this.plan = plan;
    await this.load(plan, t);
    after();
    this.switching = false;
    if (!paused) v.play().catch(() => this.renderPlay());
  }

  toggle() {
    if (!this.started) return this.watch();
    if (this.video.paused) this.video.play().catch(() => {});
    else this.video.pause();
  }

  toggleMute() {
    this.video.muted = !this.video.muted;
  }

  seekTo(t) {
    if (!this.started) return;
    const d = this.duration();
    const to = Math.max(0, d ? Math.min(t, d - 0.25) : t);
    if (this.resumeAt !== null) this.resumeAt = to; // a source still loading goes on from there
    this.video.currentTime = to;
  }

  setWaiting(on) {
    this.waiting = on;
    if (this.view.kind === "error") return;
    if (on) {
      this.view.show("busy", this.statusText || this.t.tBuffering);
      this.pollStatus();
    } else if (this.plan) {
      this.view.show("none");
    }
  }

  onKey(e) {
    playerKey(this, e);
  }

  fail(message) {
    // The video element's own error says more than the generic text: a lost connection, a film the
    // browser cannot decode, a format it cannot play.
    const known = this.video.error && this.t[MEDIA_ERRORS[this.video.error.code]];
    if (message === this.t.tFailed && known) message = known;
    this.waiting = false;
    this.view.show("error", message || this.t.tFailed);
    this.stopStatus();
    this.copies.stop();
  }

  describe(status) {
    if (!status) return "";
    // A segment waiting for a converter slot says so before the download's figures.
    const converter = this.quality.describe(status);
    if (converter) return converter;
    if (status.progress >= 1 || status.state === "finished") return "";
    const needed = neededBytes(status, this.plan ? this.duration() : null, this.video);
    return describeStatus(status, needed, this.t);
  }

  pollStatus() {
    if (this.statusTimer) return;
    const tick = async () => {
      try {
        const status = await fetchJSON(`/stream/${this.movieId}/status`);
        this.statusText = this.describe(status);
        this.view.update(this.statusText || (this.plan ? this.t.tBuffering : this.t.tPreparing));
        // Asked again when the player waits for data (setWaiting), not while the film plays.
        if ((status.progress >= 1 && !this.quality.describe(status)) || this.view.kind !== "busy") {
          return this.stopStatus();
        }
      } catch (err) {
        // The next tick retries; the player keeps whatever it has buffered.
      }
      if (this.statusTimer) this.statusTimer = setTimeout(tick, STATUS_EVERY_MS);
    };
    this.statusTimer = setTimeout(tick, 0);
  }

  stopStatus() {
    clearTimeout(this.statusTimer);
    this.statusTimer = null;
    this.statusText = "";
  }

  savePosition(force = false) {
    if (!this.started || !this.plan) return;
    const now = Date.now();
    if (!force && now - this.lastSaved < 2000) return;
    this.lastSaved = now;
    fetchJSON(`/stream/${this.movieId}/position`, {
      method: "POST",
      body: { position: Math.floor(this.position() || 0) },
      keepalive: true,
    }).catch(() => {});
  }

  renderPlay() {
    const playing = !this.video.paused;
    const b = this.q("[data-play]");
    b.setAttribute("aria-label", playing ? this.t.tPause : this.t.tPlay);
    setIcon(b, playing ? "pause" : "play");
  }

  renderTime() {
    const t = this.video.currentTime;
    if (!this.seeking) {
      const d = this.duration();
      const seek = this.q("[data-seek]");
      seek.value = d ? String(Math.round((t / d) * 1000)) : "0";
      seek.setAttribute("aria-valuetext", `${formatTime(t)} / ${formatTime(d)}`);
      this.q("[data-time]").textContent = formatTime(t);
    }
    if (!this.video.paused && Date.now() - this.lastSaved > SAVE_EVERY_MS) this.savePosition();
    this.renderBuffered();
  }

  renderBuffered() {
    const track = this.q("[data-buffer-track]");
    const d = this.duration();
    const ranges = this.video.buffered;
    while (track.children.length > ranges.length) track.lastChild.remove();
    for (let i = 0; i < ranges.length; i++) {
      let bar = track.children[i];
      if (!bar) {
        bar = document.createElement("div");
        bar.className = "player-buffered";
        track.append(bar);
      }
      const start = d ? (ranges.start(i) / d) * 100 : 0;
      const end = d ? (ranges.end(i) / d) * 100 : 0;
      bar.style.left = `${Math.max(0, start)}%`;
      bar.style.width = `${Math.max(0, Math.min(100, end) - start)}%`;
    }
  }

  renderVolume() {
    const v = this.video;
    const b = this.q("[data-mute]");
    b.setAttribute("aria-label", v.muted ? this.t.tUnmute : this.t.tMute);
    b.setAttribute("aria-pressed", String(v.muted));
    setIcon(b, v.muted || v.volume === 0 ? "muted" : "volume");
    this.q("[data-volume]").value = String(v.muted ? 0 : v.volume);
  }

  renderFullscreen() {
    const on = this.layout.fullscreen();
    this.q("[data-fullscreen]").setAttribute("aria-label", on ? this.t.tExitFullscreen : this.t.tFullscreen);
  }
}

for (const root of document.querySelectorAll("[data-player]")) {
  root.player = new Player(root);
}
