// Library: infinite scroll (IntersectionObserver) over the keyset-paginated result pages.
import { fetchJSON, fillPlaceholders } from "./util.js";

const grid = document.querySelector("[data-movie-grid]");
const sentinel = document.querySelector("[data-sentinel]");
const endNote = document.querySelector("[data-end]");
const statusBox = document.querySelector("[data-results-status]");

if (grid && sentinel) {
  const loading = sentinel.querySelector("[data-loading]");
  const errorBox = sentinel.querySelector("[data-load-error]");
  const seen = new Set([...grid.querySelectorAll("[data-movie-id]")].map((el) => el.dataset.movieId));
  let next = sentinel.dataset.next;
  let busy = false;

  const finish = () => {
    observer.disconnect();
    sentinel.remove();
    if (endNote) endNote.hidden = false;
  };

  const load = async () => {
    if (busy || !next) return;
    busy = true;
    loading.hidden = false;
    errorBox.hidden = true;
    try {
      const page = await fetchJSON(next);
      const template = document.createElement("template");
      template.innerHTML = page.html;
      let added = 0;
      for (const card of template.content.querySelectorAll("[data-movie-id]")) {
        if (seen.has(card.dataset.movieId)) continue;
        seen.add(card.dataset.movieId);
        grid.append(card);
        added += 1;
      }
      if (statusBox && added) statusBox.textContent = fillPlaceholders(statusBox.dataset.countText, { n: seen.size });
      next = page.next;
      if (!next) finish();
      else if (added === 0) setTimeout(load, 0);
    } catch (err) {
      errorBox.hidden = false;
    } finally {
      busy = false;
      loading.hidden = true;
    }
    // A tall screen may still show the sentinel: keep loading until it scrolls away.
    if (next && sentinel.isConnected) {
      const box = sentinel.getBoundingClientRect();
      if (box.top < window.innerHeight + 400) load();
    }
  };

  const observer = new IntersectionObserver(
    (entries) => {
      if (entries.some((e) => e.isIntersecting)) load();
    },
    { rootMargin: "400px 0px" },
  );
  observer.observe(sentinel);
  sentinel.querySelector("[data-retry]")?.addEventListener("click", load);
}
