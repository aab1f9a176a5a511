// A film with several copies (720p, 1080p torrents): the server steps a film whose copy downloads slower
// than it plays down to a smaller copy, and back up once the larger one is whole. The player watches the
// status while the film plays and, when it names another copy than the plan's, asks for a new plan and
// goes on from the same time, with a note saying why.

const CHECK_EVERY_MS = 2000;

export class CopyFollower {
  /** `status()` fetches /stream/{id}/status; `change(status)` reloads the film in the copy it names. */
  constructor(status, change) {
    this.status = status;
    this.change = change;
    this.timer = null;
    this.plan = null;
  }

  /** Follows `plan`'s copy; a film without copies to switch between is not followed. */
  follow(plan) {
    this.plan = plan;
    const copies = plan?.status?.copies || [];
    if (!plan?.copy || copies.length < 2 || this.timer) return;
    const tick = async () => {
      this.timer = null;
      try {
        const status = await this.status();
        const current = status?.copy?.info_hash;
        if (current && this.plan?.copy && current !== this.plan.copy) {
          await this.change(status);
        }
      } catch (err) {
        // The next check tries again; the film plays on from its current copy.
      }
      if (this.plan) this.timer = setTimeout(tick, CHECK_EVERY_MS);
    };
    this.timer = setTimeout(tick, CHECK_EVERY_MS);
  }

  stop() {
    clearTimeout(this.timer);
    this.timer = null;
    this.plan = null;
  }
}

/** The note shown when the film changed copy: null when the status does not say how. */
export function copyNote(status, texts, fill) {
  const sw = status?.switch;
  if (!sw || !sw.to) return null;
  if (sw.reason === "slow") return fill(texts.tCopySlower, { quality: sw.to, previous: sw.from || "?" });
  return fill(texts.tCopyBack, { quality: sw.to });
}
