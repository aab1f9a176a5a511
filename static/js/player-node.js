// Several nodes: a film streams from the node that holds it, named by `?node=` in the URLs the server
// hands out. When that node dies its URLs stop answering; the player then asks again without the
// name, and whichever node holds the film now answers (the dead one leaves the list within seconds).

const RETRY_MS = 2000;
const MAX_RETRIES = 15; // about 30 s: longer than a dead node stays listed

export function unpinned(url) {
  if (!url) return url;
  const parsed = new URL(url, window.location.href);
  if (!parsed.searchParams.has("node")) return url;
  parsed.searchParams.delete("node");
  return parsed.pathname + parsed.search;
}

function isPinned(url) {
  return Boolean(url) && new URL(url, window.location.href).searchParams.has("node");
}

export class NodeFollower {
  /** `reload(url, master)` plays the same film from other URLs, from where it is. */
  constructor(reload) {
    this.reload = reload;
    this.retries = 0;
    this.timer = null;
  }

  /** After a network failure of the film's streams: true when a reload is (or already was) planned. */
  failed(plan, failedUrl) {
    if (!plan || this.retries >= MAX_RETRIES) return false;
    if (!isPinned(plan.url) && !isPinned(failedUrl) && this.retries === 0) return false;
    if (this.timer) return true;
    this.retries += 1;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.reload(unpinned(plan.url), unpinned(plan.master));
    }, RETRY_MS);
    return true;
  }

  /** The film plays again: later failures start a new round of retries. */
  playing() {
    this.retries = 0;
  }
}
