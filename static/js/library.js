// Library: the filter bar applies at once (the address follows, the results are swapped in place) and
// the grid scrolls on forever (IntersectionObserver over the keyset-paginated result pages).
import { fetchJSON, fillPlaceholders, parseJSON } from "./util.js";

const TYPING_DELAY_MS = 350;

/** Infinite scroll over the grid inside `root`; returns a function that stops it. */
function followScroll(root) {
  const grid = root.querySelector("[data-movie-grid]");
  const sentinel = root.querySelector("[data-sentinel]");
  const endNote = root.querySelector("[data-end]");
  const statusBox = root.querySelector("[data-results-status]");
  if (!grid || !sentinel) return () => {};
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
    if (busy || !next || !sentinel.isConnected) return;
    busy = true;
    loading.hidden = false;
    errorBox.hidden = true;
    try {
      const page = await fetchJSON(next);
      if (!sentinel.isConnected) return; // the filters changed meanwhile
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
  return () => observer.disconnect();
}

/** The library address for the form's values: empty fields left out, as a GET form without script. */
function addressOf(form) {
  const params = new URLSearchParams();
  for (const [name, value] of new FormData(form)) {
    if (typeof value === "string" && value.trim() !== "") params.append(name, value.trim());
  }
  const query = params.toString();
  return query ? `/?${query}` : "/";
}

/** Makes the filter bar apply at once: each change fetches the page for the new address and swaps its
 * results in; the form itself stays (focus and typing are kept), its menus updated from the answer. */
function instantFilters(form, results) {
  let stopScroll = followScroll(results);
  let pending = null;
  let typingTimer = null;
  let shown = location.pathname + location.search;
  const sortBox = form.querySelector("[data-sort]");
  const orderBox = form.querySelector("[data-order]");
  const orderLabels = parseJSON(form.dataset.orderLabels);
  const sortDefaults = parseJSON(form.dataset.sortDefaults);
  form.classList.add("is-instant");

  // A new sort starts in its natural order (names A to Z, the newest first...), its labels shown at once.
  const relabelOrder = () => {
    const q = form.querySelector("[name=q]").value.trim();
    const sort = sortBox.value || (q ? "relevance" : "popularity");
    const labels = orderLabels[sort];
    if (!labels) return;
    const other = labels.natural === "asc" ? "desc" : "asc";
    const kept = orderBox.value === other ? other : "";
    orderBox.replaceChildren(new Option(labels[labels.natural], ""), new Option(labels[other], other));
    orderBox.value = kept;
    const emptySort = sortBox.querySelector("option[value='']");
    if (emptySort) emptySort.textContent = q ? sortDefaults.search : sortDefaults.browse;
  };

  const swap = (html, syncForm) => {
    const doc = new DOMParser().parseFromString(html, "text/html");
    const fresh = doc.querySelector("[data-library-results]");
    if (!fresh) return false;
    stopScroll();
    results.replaceChildren(...fresh.childNodes);
    if (syncForm) {
      for (const field of doc.querySelector("[data-library-form]")?.elements || []) {
        const mine = field.id && form.querySelector(`#${field.id}`);
        if (mine && mine.tagName === "INPUT") mine.value = field.value;
      }
    }
    for (const name of ["[data-sort]", "[data-order]", "#lib-genre"]) {
      const mine = form.querySelector(name);
      const theirs = doc.querySelector(name);
      if (mine && theirs && (syncForm || document.activeElement !== mine)) {
        const value = theirs.value; // read before its options move over
        mine.replaceChildren(...theirs.childNodes);
        mine.value = value;
      }
    }
    const clear = form.querySelector("[data-clear]");
    const freshClear = doc.querySelector("[data-clear]");
    if (clear && freshClear) clear.hidden = freshClear.hidden;
    const title = doc.querySelector("[data-library-title]");
    const mineTitle = document.querySelector("[data-library-title]");
    if (title && mineTitle) mineTitle.textContent = title.textContent;
    document.title = doc.title;
    stopScroll = followScroll(results);
    return true;
  };

  // Fetches the page at `address` and shows its results; `step` "push" or "replace" moves the address
  // along once they are shown (a new entry per choice, one entry rewritten while typing), null keeps it.
  const show = async (address, step, syncForm = false) => {
    pending?.abort();
    const controller = new AbortController();
    pending = controller;
    results.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(address, { signal: controller.signal, headers: { Accept: "text/html" } });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const html = await response.text();
      if (controller.signal.aborted || !swap(html, syncForm)) return;
      shown = address;
      if (step === "push") history.pushState({ library: true }, "", address);
      else if (step === "replace") history.replaceState({ library: true }, "", address);
    } catch (err) {
      if (err.name !== "AbortError") location.assign(address); // the server's own page says what went wrong
    } finally {
      if (pending === controller) {
        pending = null;
        results.removeAttribute("aria-busy");
      }
    }
  };

  const apply = ({ push = true } = {}) => {
    clearTimeout(typingTimer);
    const address = addressOf(form);
    if (address !== shown) show(address, push ? "push" : "replace");
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    apply();
  });
  form.addEventListener("change", (event) => {
    if (event.target === sortBox) {
      orderBox.value = "";
      relabelOrder();
    }
    if (event.target.name !== "q") apply();
  });
  form.addEventListener("input", (event) => {
    const field = event.target;
    if (field.name === "q" && !sortBox.value) relabelOrder(); // the default sort follows: best match or popularity
    if (field.type === "search" || field.type === "number") {
      clearTimeout(typingTimer);
      const push = field.type === "number";
      typingTimer = setTimeout(() => {
        if (field.checkValidity()) apply({ push });
      }, TYPING_DELAY_MS);
    }
  });
  window.addEventListener("popstate", () => {
    // Back and forward: that address's results, and the form as that page had it.
    const address = location.pathname + location.search;
    if (address !== shown) show(address, null, true);
  });
}

const form = document.querySelector("[data-library-form]");
const results = document.querySelector("[data-library-results]");
if (form && results) instantFilters(form, results);
else if (results) followScroll(results);
