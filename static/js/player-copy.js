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
    this.chain = 0; // the running polling chain's number, 0 when none runs
    this.chains = 0;
  }

  /** Follows `plan`'s copy; a film without copies to switch between is not followed. One polling chain
   * runs at a time: following again while it runs (even during a check) only changes the plan. */
  follow(plan) {
    this.plan = plan;
    const copies = plan?.status?.copies || [];
    if (!plan?.copy || copies.length < 2 || this.chain) return;
    const chain = ++this.chains;
    this.chain = chain;
    const tick = async () => {
      this.timer = null;
      try {
        const status = await this.status();
        const current = status?.copy?.info_hash;
        if (chain === this.chain && current && this.plan?.copy && current !== this.plan.copy) {
          await this.change(status);
        }
      } catch (err) {
        // The next check tries again; the film plays on from its current copy.
      }
      // A chain stopped during the check ends here, whether or not another one started since.
      if (chain !== this.chain) return;
      if (this.plan) this.timer = setTimeout(tick, CHECK_EVERY_MS);
      else this.chain = 0;
    };
    this.timer = setTimeout(tick, CHECK_EVERY_MS);
  }

  stop() {
    clearTimeout(this.timer);
    this.timer = null;
    this.plan = null;
    this.chain = 0;
  }
}

/** The note shown when the film changed copy: null when the status does not say how. */
export function copyNote(status, texts, fill) {
  const sw = status?.switch;
  if (!sw || !sw.to) return null;
  if (sw.reason === "slow") return fill(texts.tCopySlower, { quality: sw.to, previous: sw.from || "?" });
  return fill(texts.tCopyBack, { quality: sw.to });
}
