// The library's live part: download progress on the film cards in view ([data-movie-id], or else links to
// /movies/{id}), asked for as cards scroll into view and updated by download:progress events.
import { el, progressText, t } from "./live-text.js";

const cardId = (card) => Number(card.dataset.movieId || (card.getAttribute("href") || "").match(/^\/movies\/(\d+)/)?.[1]);

function cardsFor(id) {
  const marked = document.querySelectorAll(`[data-movie-id="${id}"]`);
  return marked.length ? marked : document.querySelectorAll(`a[href="/movies/${id}"]`);
}

function showCardProgress(p) {
  for (const card of cardsFor(Number(p.movie_id))) {
    let badge = card.querySelector("[data-live-card-progress]");
    if (!badge) {
      badge = el("span", "live-card-progress");
      badge.dataset.liveCardProgress = "";
      (card.querySelector(".movie-cover") || card).append(badge);
    }
    const percent = Math.floor((Number(p.progress) || 0) * 100);
    badge.textContent = p.ready && percent >= 100 ? t("ready") : `${percent}%`;
    badge.title = progressText(p);
  }
}

/** Shows download progress on the cards in view, over the page's socket. */
export function followCardProgress(socket) {
  const visible = new Set();
  let timer = null;

  function sendVisible() {
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (socket.connected) socket.emit("progress", { movie_ids: [...visible].slice(0, 100) }, (reply) => {
        for (const p of reply?.progress || []) showCardProgress(p);
      });
    }, 300);
  }

  const observer = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      const id = cardId(entry.target);
      if (!Number.isFinite(id) || id <= 0) continue;
      if (entry.isIntersecting) visible.add(id);
      else visible.delete(id);
    }
    sendVisible();
  });
  const watched = new WeakSet();
  function observeCards() {
    const marked = document.querySelectorAll("[data-movie-id]");
    for (const card of marked.length ? marked : document.querySelectorAll('a[href^="/movies/"]')) {
      if (!watched.has(card) && Number.isFinite(cardId(card))) {
        watched.add(card);
        observer.observe(card);
      }
    }
  }
  observeCards();
  new MutationObserver(observeCards).observe(document.body, { childList: true, subtree: true });
  socket.on("connect", sendVisible);
  socket.on("download:progress", showCardProgress);
}
