// Live updates over Socket.IO: comments, chat, presence, download progress and watch-together.
// On a film page it drives [data-live-panel]; on the library it updates cards ([data-movie-id] or
// links to /movies/{id}) with download progress. All text is inserted with textContent.
import { io } from "/static/vendor/socket.io.esm.min.js";
import { confirmBeforeSubmit, fetchJSON, fillPlaceholders, formatTime, parseJSON, toast } from "./util.js";

const panel = document.querySelector("[data-live-panel]");
const PARTY_CODE = /^[A-Za-z0-9_-]{6,40}$/;
const MAX_CHAT_ITEMS = 200;

const strings = parseJSON(panel?.dataset.liveStrings);

function t(key, values = {}) {
  return fillPlaceholders(strings[key] || key, values);
}

function safeImageUrl(url) {
  return typeof url === "string" && (url.startsWith("/") || url.startsWith("https://")) ? url : "/static/img/avatar.svg";
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// A person's picture, decorative next to their name (hence the empty alt).
function avatar(className, url, size) {
  const image = el("img", className);
  image.src = safeImageUrl(url);
  image.alt = "";
  image.width = size;
  image.height = size;
  return image;
}

function profileLink(className, username) {
  const link = el("a", className, username);
  link.href = `/users/${encodeURIComponent(username)}`;
  return link;
}

function formatRate(bytesPerSecond) {
  const units = ["B/s", "KB/s", "MB/s", "GB/s"];
  let value = Number(bytesPerSecond) || 0;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit ? 1 : 0)} ${units[unit]}`;
}

function progressText(p) {
  if (p.ready && (p.progress ?? 0) >= 1) return t("ready");
  return t("progress", {
    percent: `${Math.floor((Number(p.progress) || 0) * 100)}%`,
    rate: formatRate(p.rate),
    peers: Number(p.peers) || 0,
  });
}

const socket = io({ path: "/socket.io", transports: ["websocket", "polling"], withCredentials: true });

// --- session: keep the socket's sign-in fresh while the page is open ---------------------------

let refreshTimer = null;

async function refreshSession(sid) {
  try {
    const body = await fetchJSON("/live/session", { method: "POST", body: { sid: sid || "" } });
    return { ok: true, expiresIn: body?.expires_in };
  } catch (e) {
    return e.status === 401 ? null : { ok: false };
  }
}

function scheduleRefresh(expiresIn) {
  clearTimeout(refreshTimer);
  if (typeof expiresIn !== "number") return;
  const delay = Math.max(30, expiresIn - 120) * 1000;
  refreshTimer = setTimeout(async () => {
    const result = await refreshSession(socket.id);
    if (result === null) setStatus(t("expired"), "error");
    else scheduleRefresh(result.expiresIn ?? 300);
  }, delay);
}

let lastRetry = 0;
socket.on("connect_error", async (err) => {
  if (socket.active) {
    setStatus(t("reconnecting"), "warn");
    return;
  }
  // Refused by the server: say why, and retry once a minute when a fresh cookie may help.
  const code = err?.data?.code;
  setStatus(err?.message || t("expired"), "error");
  if (code === "session_expired" && Date.now() - lastRetry > 60_000) {
    lastRetry = Date.now();
    const result = await refreshSession("");
    if (result !== null) socket.connect();
  }
});

let expiredMessage = null;
socket.on("auth:expired", (data) => {
  expiredMessage = data?.message || t("expired");
  setStatus(expiredMessage, "error");
});
socket.on("disconnect", (reason) => {
  // The server closing the socket (flood, expired session) is final; anything else reconnects by itself.
  if (reason === "io server disconnect") setStatus(expiredMessage || t("stopped"), "error");
  else if (reason !== "io client disconnect") setStatus(t("reconnecting"), "warn");
});
let onChatError = null;
socket.on("error", (error) => {
  if (!error || typeof error.message !== "string") return;
  if (onChatError && error.event === "chat:send") onChatError(error.message);
  else toast(error.message, "error");
});

function setStatus(text, kind = "ok") {
  const status = panel?.querySelector("[data-live-status]");
  if (!status) return;
  status.textContent = text;
  status.dataset.state = kind;
}

// --- film page ---------------------------------------------------------------------------------

if (panel) {
  const movieId = Number(panel.dataset.movieId);
  const chatLog = panel.querySelector("[data-chat-log]");
  const chatForm = panel.querySelector("[data-chat-form]");
  const chatInput = panel.querySelector("[data-chat-input]");
  const typingLine = panel.querySelector("[data-typing]");
  const presenceList = panel.querySelector("[data-presence]");
  const state = { lastChatId: null, serverTime: null, joinedOnce: false, party: partyFromUrl() };

  function partyFromUrl() {
    const code = new URL(location.href).searchParams.get("party");
    return code && PARTY_CODE.test(code) ? code : null;
  }

  function join() {
    const since = {};
    const maxComment = maxCommentId();
    if (maxComment !== null) since.comment_id = maxComment;
    if (state.joinedOnce) {
      if (state.lastChatId !== null) since.chat_id = state.lastChatId;
      if (state.serverTime !== null) since.at = state.serverTime;
    }
    const payload = { movie_id: movieId, since };
    if (state.party) payload.party = state.party;
    socket.emit("join", payload, (reply) => {
      if (!reply || !reply.ok) {
        setStatus(reply?.error?.message || t("reconnecting"), "error");
        return;
      }
      setStatus(t("connected"));
      state.serverTime = reply.server_time;
      scheduleRefresh(reply.expires_in);
      if (!state.joinedOnce) chatLog.replaceChildren();
      for (const message of reply.chat || []) addChat(message);
      for (const comment of reply.comments || []) upsertComment(comment);
      if (Array.isArray(reply.comment_ids)) dropDeletedComments(reply.comment_ids, reply.comment_ids_complete);
      renderPresence(reply.presence || []);
      state.joinedOnce = true;
      showParty();
    });
  }
  socket.on("connect", join);

  // Chat.
  function addChat(message) {
    if (!message || message.movie_id !== movieId) return;
    if (chatLog.querySelector(`[data-chat-id="${Number(message.id)}"]`)) return;
    const item = el("li", "live-chat-item");
    item.dataset.chatId = String(Number(message.id));
    const author = profileLink("live-chat-author", message.author);
    const time = el("time", "live-chat-time", new Date(message.created_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }));
    time.dateTime = message.created_at;
    const text = el("span", "live-chat-text", message.text);
    item.append(avatar("live-avatar", message.author_picture, 28), author, time, text);
    chatLog.append(item);
    while (chatLog.children.length > MAX_CHAT_ITEMS) chatLog.firstElementChild.remove();
    chatLog.scrollTop = chatLog.scrollHeight;
    state.lastChatId = Math.max(state.lastChatId ?? 0, Number(message.id));
    clearTyping(message.author);
  }
  socket.on("chat:message", addChat);

  let chatErrorTimer = null;
  onChatError = (message) => {
    const box = panel.querySelector("[data-chat-error]");
    box.textContent = message;
    box.hidden = false;
    clearTimeout(chatErrorTimer);
    chatErrorTimer = setTimeout(() => { box.hidden = true; }, 5000);
  };

  chatForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = chatInput.value.trim();
    if (!text) return;
    socket.emit("chat:send", { movie_id: movieId, text }, (reply) => {
      if (reply?.ok) {
        chatInput.value = "";
        panel.querySelector("[data-chat-error]").hidden = true;
      }
    });
  });

  let lastTypingSent = 0;
  chatInput.addEventListener("input", () => {
    if (!chatInput.value || Date.now() - lastTypingSent < 2000 || !socket.connected) return;
    lastTypingSent = Date.now();
    socket.emit("chat:typing", { movie_id: movieId });
  });

  const typing = new Map();
  function renderTyping() {
    const names = [...typing.keys()];
    typingLine.textContent = names.length === 0 ? "" : names.length === 1 ? t("typing", { name: names[0] }) : t("typing_many");
  }
  function clearTyping(name) {
    clearTimeout(typing.get(name));
    typing.delete(name);
    renderTyping();
  }
  socket.on("chat:typing", (data) => {
    if (data?.movie_id !== movieId || !data.user?.username) return;
    const name = data.user.username;
    clearTimeout(typing.get(name));
    typing.set(name, setTimeout(() => clearTyping(name), 3000));
    renderTyping();
  });

  // Presence.
  function renderPresence(users) {
    presenceList.replaceChildren(
      ...users.map((user) => {
        const item = el("li", "live-presence-item");
        item.append(avatar("live-avatar", user.picture, 24), profileLink("", user.username));
        return item;
      }),
    );
  }
  socket.on("presence", (data) => {
    if (data?.movie_id === movieId) renderPresence(data.users || []);
  });

  // Comments: the film page's list is server-rendered; items carry data-comment-id.
  function commentList() {
    return document.querySelector("[data-comment-list]");
  }
  function maxCommentId() {
    let max = null;
    for (const item of document.querySelectorAll("[data-comment-id]")) {
      const id = Number(item.dataset.commentId);
      if (Number.isFinite(id)) max = Math.max(max ?? 0, id);
    }
    return max;
  }
  // Same markup as the server-rendered items of templates/movie.html.
  function renderComment(comment) {
    const item = el("li", "comment live-comment");
    item.id = `comment-${Number(comment.id)}`;
    item.dataset.commentId = String(Number(comment.id));
    const main = el("div", "comment-main");
    const head = el("p", "comment-head");
    const author = profileLink("", comment.author);
    const time = el("time", "", String(comment.created_at || "").slice(0, 16).replace("T", " "));
    time.dateTime = comment.created_at;
    head.append(author, " ", time);
    if (comment.edited) head.append(" ", el("span", "comment-edited", t("edited")));
    main.append(head, el("p", "comment-body", comment.text ?? comment.content));
    const list = commentList();
    if (list && String(comment.author_id) === list.dataset.userId) main.append(...ownerTools(comment));
    item.append(avatar("comment-avatar", comment.author_picture, 40), main);
    return item;
  }
  // Edit and delete controls for the viewer's own comments, cloned from the page's <template>.
  function ownerTools(comment) {
    const template = document.querySelector("template[data-comment-tools]");
    if (!template) return [];
    const id = String(Number(comment.id));
    const tools = template.content.cloneNode(true);
    for (const node of tools.querySelectorAll("*")) {
      for (const attr of [...node.attributes]) {
        if (attr.value.includes("__ID__")) node.setAttribute(attr.name, attr.value.replaceAll("__ID__", id));
      }
    }
    const area = tools.querySelector("textarea");
    if (area) area.value = comment.text ?? comment.content;
    for (const form of tools.querySelectorAll("form[data-confirm]")) confirmBeforeSubmit(form);
    return [...tools.childNodes];
  }
  function upsertComment(comment) {
    if (!comment || comment.movie_id !== movieId) return;
    const existing = document.querySelector(`[data-comment-id="${Number(comment.id)}"]`);
    if (existing) {
      const body = existing.querySelector("[data-comment-body], .comment-body");
      if (body) body.textContent = comment.text ?? comment.content;
      const area = existing.querySelector(".comment-edit textarea");
      if (area && document.activeElement !== area) area.value = comment.text ?? comment.content;
      const head = existing.querySelector(".comment-head");
      if (comment.edited && head && !existing.querySelector(".comment-edited")) {
        head.append(" ", el("span", "comment-edited", t("edited")));
      }
      return;
    }
    const list = commentList();
    if (!list) return;
    const item = renderComment(comment);
    if (list.dataset.order === "asc") list.append(item);
    else list.prepend(item);
    list.querySelector("[data-no-comments]")?.remove();
    changeCommentCount(+1);
  }
  function removeComment(id) {
    const item = document.querySelector(`[data-comment-id="${Number(id)}"]`);
    if (!item) return;
    item.remove();
    changeCommentCount(-1);
  }
  // The counter shows the film's total (the list may show only the newest), so it is moved, not recounted.
  function changeCommentCount(delta) {
    const counter = document.querySelector("[data-comment-count]");
    if (!counter) return;
    counter.textContent = counter.textContent.replace(/\d+/, (n) => String(Math.max(0, Number(n) + delta)));
  }
  function dropDeletedComments(ids, complete) {
    const alive = new Set(ids.map(Number));
    const oldest = ids.length ? Math.min(...alive) : Infinity;
    for (const item of document.querySelectorAll("[data-comment-id]")) {
      const id = Number(item.dataset.commentId);
      if (!alive.has(id) && (complete || id >= oldest)) removeComment(id);
    }
  }
  socket.on("comment:new", upsertComment);
  socket.on("comment:update", upsertComment);
  socket.on("comment:delete", (data) => {
    if (data?.movie_id === movieId) removeComment(data.id);
  });

  // Download progress.
  socket.on("download:progress", (p) => {
    if (p?.movie_id !== movieId) return;
    const box = panel.querySelector("[data-live-progress]");
    box.hidden = false;
    panel.querySelector("[data-live-progress-bar]").value = Math.round((Number(p.progress) || 0) * 100);
    panel.querySelector("[data-live-progress-text]").textContent = progressText(p);
  });

  // Watch together: the page's <video data-video> (the player's, or else its only <video>) follows the party.
  const party = { last: null, receivedAt: 0, bound: null };
  const partyInfo = panel.querySelector("[data-party-info]");
  const partyStart = panel.querySelector("[data-party-start]");
  const partyNote = panel.querySelector("[data-party-note]");

  function video() {
    const found = document.querySelector("video[data-video], video[data-player]") || document.querySelector("video");
    if (found && party.bound !== found) bindVideo(found);
    return found;
  }

  function expectedPosition() {
    const s = party.last;
    if (!s) return null;
    return s.position + (s.playing ? (performance.now() - party.receivedAt) / 1000 : 0);
  }

  function inStep(v, playing) {
    const expected = expectedPosition();
    return party.last && party.last.playing === playing && expected !== null && Math.abs(v.currentTime - expected) < 1.5;
  }

  function sendParty(event, v) {
    if (!state.party || !socket.connected) return;
    const position = Math.round(v.currentTime * 1000) / 1000;
    socket.emit(event, { movie_id: movieId, position }, (reply) => {
      if (reply?.ok && reply.state) remember(reply.state);
    });
  }

  function bindVideo(v) {
    party.bound = v;
    v.addEventListener("play", () => { if (!inStep(v, true)) sendParty("party:play", v); });
    v.addEventListener("pause", () => { if (!v.ended && !inStep(v, false)) sendParty("party:pause", v); });
    v.addEventListener("seeked", () => {
      const expected = expectedPosition();
      if (expected === null || Math.abs(v.currentTime - expected) >= 1.5) sendParty("party:seek", v);
    });
    if (party.last) applyParty();
  }

  function remember(s) {
    party.last = s;
    party.receivedAt = performance.now();
  }

  function applyParty() {
    const v = video();
    const s = party.last;
    if (!v || !s) return;
    const target = expectedPosition();
    if (Math.abs(v.currentTime - target) > 0.75) {
      try { v.currentTime = target; } catch (e) { /* not seekable yet; the next state will catch up */ }
    }
    if (s.playing && v.paused) {
      const started = v.play();
      if (started && typeof started.catch === "function") started.catch(() => { partyNote.textContent = t("press_play"); });
    } else if (!s.playing && !v.paused) {
      v.pause();
    }
    panel.dataset.partyPlaying = String(Boolean(s.playing));
    panel.dataset.partyPosition = String(s.position);
  }

  socket.on("party:state", (s) => {
    if (s?.movie_id !== movieId || s.party !== state.party) return;
    remember(s);
    const key = { play: "played", pause: "paused", seek: "seeked" }[s.action] || (s.playing ? "played" : "paused");
    partyNote.textContent = t(key, { name: s.by, time: formatTime(s.position) });
    applyParty();
  });

  function partyLink() {
    const url = new URL(location.href);
    url.hash = "";
    if (state.party) url.searchParams.set("party", state.party);
    else url.searchParams.delete("party");
    return url.toString();
  }

  function showParty() {
    partyInfo.hidden = !state.party;
    partyStart.hidden = Boolean(state.party);
    panel.querySelector("[data-party-link]").value = state.party ? partyLink() : "";
    if (state.party && !partyNote.textContent) partyNote.textContent = t("in_party");
    video();
  }

  function newCode() {
    const bytes = crypto.getRandomValues(new Uint8Array(9));
    return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_");
  }

  partyStart.addEventListener("click", () => {
    state.party = newCode();
    history.replaceState(null, "", partyLink());
    party.last = null;
    showParty();
    join();
    panel.querySelector("[data-party-link]").focus();
  });
  panel.querySelector("[data-party-leave]").addEventListener("click", () => {
    state.party = null;
    party.last = null;
    partyNote.textContent = "";
    history.replaceState(null, "", partyLink());
    showParty();
    join();
    partyStart.focus();
  });
  panel.querySelector("[data-party-copy]").addEventListener("click", async () => {
    const input = panel.querySelector("[data-party-link]");
    try {
      await navigator.clipboard.writeText(input.value);
      partyNote.textContent = t("copied");
    } catch (e) {
      input.select();
    }
  });
  showParty();
  // The player may be created after this script runs (it waits for the stream plan).
  new MutationObserver(() => { if (!party.bound) video(); }).observe(document.body, { childList: true, subtree: true });
}

// --- library: progress on visible cards --------------------------------------------------------

if (!panel) {
  const visible = new Set();
  let timer = null;
  const cardId = (card) => Number(card.dataset.movieId || (card.getAttribute("href") || "").match(/^\/movies\/(\d+)/)?.[1]);

  function cardsFor(id) {
    const marked = document.querySelectorAll(`[data-movie-id="${id}"]`);
    return marked.length ? marked : document.querySelectorAll(`a[href="/movies/${id}"]`);
  }

  function sendVisible() {
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (socket.connected) socket.emit("progress", { movie_ids: [...visible].slice(0, 100) }, (reply) => {
        for (const p of reply?.progress || []) showCardProgress(p);
      });
    }, 300);
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
