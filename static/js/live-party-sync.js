// Watch together, the video side: keeps the page's <video> on the party's group position and state
// (hypertube/ws/group.py), reports when it has buffered there (party:ready) or stalls (party:buffering),
// and sends what the viewer does (party:play, party:pause, party:seek) once it is in step with the group.

// Within this many seconds of the group's position a playing video counts as in step here.
// (The server accepts a report within 1.5 s: this leaves room for the time the report travels.)
export const IN_STEP_SECONDS = 1.0;
// A paused or waiting video is put exactly on the group's position (within this).
const EXACT_SECONDS = 0.3;
const TICK_MS = 250;
// A stall shorter than this is not reported (the group would stop for a hiccup).
const STALL_MS = 1000;
// The events the script's own play, pause and seek cause are not the viewer's; one that never comes
// (the browser skipped it) stops being expected after this long.
const OWN_EVENT_MS = 2000;
// Playback-rate nudging for small drifts of a playing video.
const NUDGE_FROM = 0.25;
const NUDGE_RATE = 0.08;
const PENDING_MS = 5000;
const READY_RETRY_MS = 1000;

const now = () => performance.now();
const epoch = () => (performance.timeOrigin + performance.now()) / 1000;
// A clock sample is replaced by one with a shorter round trip, or by any once it is this old (s).
const CLOCK_SAMPLE_AGE = 20;

export class GroupSync {
  /**
   * `emit(event, payload, ack)` sends on the page's socket; `movieId` the film; `onGroup(state)` is told
   * each state the group takes (for the panel).
   */
  constructor(emit, movieId, onGroup, onSynced = () => {}) {
    Object.assign(this, { emit, movieId, onGroup, onSynced });
    this.video = null;
    this.group = null; // the group's last state (party:state payload), received at `receivedAt`
    this.receivedAt = 0;
    this.known = false; // the join reply came: a null group is a party nobody has started
    this.synced = false; // in step once: from then on the viewer's play, pause and seek are sent
    this.wasSynced = false; // in step before the last (re)join in this party
    this.pending = 0; // actions sent whose answer has not come (the video is left alone meanwhile)
    this.pendingSince = 0;
    this.expecting = {}; // event name -> until when the script's own change should cause it
    this.readyKey = null;
    this.readySentAt = -Infinity;
    this.pokedKey = null;
    this.stallTimer = null;
    this.seekCost = 0.4; // seconds a seek takes here (measured), how far ahead to seek a playing video
    this.seekStarted = 0;
    this.offset = null; // server clock minus this page's clock (seconds), from the fastest round trip
    this.offsetRtt = Infinity;
    this.offsetAt = 0;
    this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  /** Starts over in a new party (or none: `known` false stops everything). */
  reset(known = false) {
    this.group = null;
    this.known = known;
    this.synced = false;
    this.wasSynced = false;
    this.onSynced();
    this.pending = 0;
    this.readyKey = null;
    this.pokedKey = null;
  }

  /** A clock sample: the server's time `serverTime` seen by a request sent at `sent` and answered at
   * `received` (this page's epoch seconds); the server's time is taken as the round trip's middle. */
  clock(serverTime, sent, received) {
    const rtt = received - sent;
    if (!Number.isFinite(serverTime) || rtt < 0) return;
    if (rtt <= this.offsetRtt || received - this.offsetAt > CLOCK_SAMPLE_AGE) {
      this.offset = serverTime - (sent + received) / 2;
      this.offsetRtt = rtt;
      this.offsetAt = received;
    }
  }

  /** Seconds since server time `at` (by the clock samples; else since the message came). */
  since(at) {
    if (this.offset === null) return (now() - this.receivedAt) / 1000;
    return Math.max(0, epoch() + this.offset - at);
  }

  /** The join reply's party state (null when nobody has pressed play in it yet). */
  joined(state) {
    this.known = true;
    // The server counts this socket as joining until it reports being in step; after a reconnection the
    // viewer's actions are still sent meanwhile (`wasSynced`), since the video was in step all along.
    this.wasSynced = this.wasSynced || this.synced;
    this.synced = false;
    this.readyKey = null;
    this.onSynced();
    if (state) this.receive(state);
    else this.tick();
  }

  receive(s) {
    if (!s || s.movie_id !== this.movieId) return;
    if (this.group && s.at < this.group.at - 0.001) return; // an older answer than what we have
    this.group = s;
    this.receivedAt = now();
    this.onGroup(s);
    this.tick();
  }

  /** Where the group is now (seconds), or null. */
  expected() {
    const g = this.group;
    if (!g) return null;
    return g.position + (g.state === "playing" ? this.since(g.at) : 0);
  }

  /** Whether `event` is the echo of the script's own change (consumed), or else the viewer's. */
  own(event) {
    const until = this.expecting[event];
    if (!until) return false;
    delete this.expecting[event];
    return now() < until;
  }

  expect(event) {
    this.expecting[event] = now() + OWN_EVENT_MS;
  }

  busy() {
    return Object.values(this.expecting).some((until) => now() < until);
  }

  /** Whether an action's answer is awaited (an answer lost with the connection stops counting after 5 s). */
  waiting() {
    return this.pending > 0 && now() - this.pendingSince < PENDING_MS;
  }

  send(event, position, isAction = true, answered = () => {}) {
    if (isAction) {
      this.pending = this.waiting() ? this.pending + 1 : 1;
      this.pendingSince = now();
    }
    const payload = { movie_id: this.movieId, position: Math.round(Math.max(0, position) * 1000) / 1000 };
    const sent = epoch();
    this.emit(event, payload, (reply) => {
      if (reply?.state) this.clock(reply.state.at, sent, epoch());
      if (isAction) this.pending = Math.max(0, this.pending - 1);
      if (reply?.ok && reply.state) this.receive(reply.state);
      answered(reply);
    });
  }

  bind(v) {
    this.video = v;
    v.addEventListener("play", () => this.onPlay());
    v.addEventListener("pause", () => this.onPause());
    v.addEventListener("seeking", () => { this.seekStarted = now(); });
    v.addEventListener("seeked", () => this.onSeeked());
    v.addEventListener("waiting", () => this.onStall());
    v.addEventListener("playing", () => this.tick());
    v.addEventListener("canplay", () => this.tick());
  }

  // --- what the viewer does ------------------------------------------------------------------------

  /** Whether the viewer's play, pause and seek are sent: once this page has been in step. */
  acting() {
    return this.synced || this.wasSynced;
  }

  canAct(event) {
    return !this.own(event) && this.known;
  }

  onPlay() {
    const v = this.video;
    if (!this.canAct("play")) return;
    const g = this.group;
    if (!g || g.state === "idle") this.send("party:play", v.currentTime); // the first to play starts the party
    else if (this.acting() && g.state !== "playing") this.send("party:play", v.currentTime);
  }

  onPause() {
    const v = this.video;
    if (!this.canAct("pause") || v.ended || !this.acting()) return;
    if (this.group?.state === "playing") this.send("party:pause", v.currentTime);
  }

  onSeeked() {
    const v = this.video;
    if (this.seekStarted) this.seekCost = Math.min(2, Math.max(0.1, (now() - this.seekStarted) / 1000));
    // The script's own seek, unless the viewer seeked elsewhere meanwhile (one event for both).
    const mine = this.own("seeked") && Math.abs(v.currentTime - this.seekTarget) < 1;
    if (!mine && this.known && this.acting() && this.group && this.group.state !== "idle") {
      if (Math.abs(v.currentTime - this.expected()) > IN_STEP_SECONDS) this.send("party:seek", v.currentTime);
    }
    this.tick();
  }

  onStall() {
    if (!this.synced || this.group?.state !== "playing" || this.expecting.seeked || this.stallTimer) return;
    this.stallTimer = setTimeout(() => {
      this.stallTimer = null;
      const v = this.video;
      if (this.group?.state === "playing" && !v.paused && !v.seeking && v.readyState < 3) {
        this.readyKey = null;
        this.send("party:buffering", v.currentTime, false);
      }
    }, STALL_MS);
  }

  // --- following the group -------------------------------------------------------------------------

  seekTo(t) {
    this.expect("seeked");
    this.seekTarget = t;
    try {
      this.video.currentTime = t;
    } catch (e) {
      // Not seekable yet: the next tick tries again.
    }
  }

  play() {
    this.expect("play");
    const started = this.video.play();
    if (started && typeof started.catch === "function") started.catch(() => this.onGroup(this.group, true));
  }

  pause() {
    this.expect("pause");
    this.video.pause();
  }

  tick() {
    const v = this.video;
    if (!v || !this.known || this.waiting() || v.seeking) return;
    const g = this.group;
    if (!g || g.state === "idle") {
      // A party nobody has started: a film already playing here starts it.
      if (v.readyState >= 1 && !v.paused && !this.busy()) this.send("party:play", v.currentTime);
      return;
    }
    if (v.readyState < 1) return; // the player has not loaded the film yet
    const want = g.state === "playing";
    const duration = Number.isFinite(v.duration) ? v.duration : Infinity;
    const target = Math.min(this.expected(), duration);
    if (v.ended && target >= duration - 0.5) return;
    const drift = v.currentTime - target;
    const tolerance = want ? IN_STEP_SECONDS : EXACT_SECONDS;
    if (Math.abs(drift) > tolerance) {
      this.seekTo(Math.min(duration, target + (want ? this.seekCost : 0)));
      return;
    }
    if (want && v.paused) this.play();
    else if (!want && !v.paused) this.pause();
    this.nudge(want, drift);
    this.report(g, target);
  }

  /** Small drifts of a playing video are caught up by playing a little faster or slower. */
  nudge(want, drift) {
    const v = this.video;
    let rate = v.playbackRate;
    if (!want) rate = 1;
    else if (Math.abs(drift) > NUDGE_FROM) rate = 1 - Math.sign(drift) * NUDGE_RATE;
    else if (Math.abs(drift) < 0.05) rate = 1;
    if (v.playbackRate !== rate) v.playbackRate = rate;
  }

  /** Tells the server this video is buffered at the group's position (once per state), or pokes a wait
   * whose time is up (the server settles it on any report). */
  report(g, target) {
    const v = this.video;
    const key = `${g.state}|${g.position}|${g.at}`;
    const here = Math.abs(v.currentTime - target) <= (g.state === "playing" ? IN_STEP_SECONDS : EXACT_SECONDS);
    const buffered = here && v.readyState >= 3 && (g.state !== "playing" || !v.paused);
    const retry = !this.synced && now() - this.readySentAt > READY_RETRY_MS;
    if (buffered && (retry || (g.state === "waiting" && this.readyKey !== key))) {
      this.readyKey = key;
      this.readySentAt = now();
      this.send("party:ready", v.currentTime, false, (reply) => {
        // In step once the server counts it (it compares with its own clock).
        if (reply?.status === "ready" && !this.synced) {
          this.synced = true;
          this.onSynced();
        }
      });
      return;
    }
    if (g.state === "waiting" && g.wait_until && this.pokedKey !== key) {
      if (this.since(g.at) > g.wait_until - g.at + 0.3) {
        this.pokedKey = key;
        this.send("party:ready", v.currentTime, false);
      }
    }
  }
}
