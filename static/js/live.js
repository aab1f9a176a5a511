// Live updates over Socket.IO: the connection and its sign-in, kept fresh while the page is open. On a
// film page it drives the live panel (live-film.js); elsewhere it shows download progress on film cards.
import { io } from "/static/vendor/socket.io.esm.min.js";
import { fetchJSON, toast } from "./util.js";
import { followCardProgress } from "./live-cards.js";
import { followFilm } from "./live-film.js";
import { t } from "./live-text.js";

const panel = document.querySelector("[data-live-panel]");

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
// Set on a film page: a refused chat message is shown under the chat, not as a toast.
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

if (panel) onChatError = followFilm(socket, panel, { setStatus, scheduleRefresh });
else followCardProgress(socket);
