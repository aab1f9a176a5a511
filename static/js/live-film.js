// A film page's live panel ([data-live-panel]): joins the film's room (again after each reconnection,
// asking only for what was missed) and wires chat, comments, download progress and watch-together.
import { followChat } from "./live-chat.js";
import { dropDeletedComments, followComments, maxCommentId, upsertComment } from "./live-comments.js";
import { partyFromUrl, WatchParty } from "./live-party.js";
import { progressText, t } from "./live-text.js";

function followDownload(socket, panel, movieId) {
  socket.on("download:progress", (p) => {
    if (p?.movie_id !== movieId) return;
    const box = panel.querySelector("[data-live-progress]");
    box.hidden = false;
    panel.querySelector("[data-live-progress-bar]").value = Math.round((Number(p.progress) || 0) * 100);
    panel.querySelector("[data-live-progress-text]").textContent = progressText(p);
  });
}

/**
 * Drives the panel over the page's socket. `session` has setStatus(text, kind) and
 * scheduleRefresh(expiresIn) of the connection. Returns showChatError(text) for the server's refusals.
 */
export function followFilm(socket, panel, session) {
  const movieId = Number(panel.dataset.movieId);
  const state = { lastChatId: null, serverTime: null, joinedOnce: false, party: partyFromUrl() };
  const chat = followChat(socket, panel, movieId, state);

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
    const sent = (performance.timeOrigin + performance.now()) / 1000;
    socket.emit("join", payload, (reply) => {
      if (!reply || !reply.ok) {
        session.setStatus(reply?.error?.message || t("reconnecting"), "error");
        return;
      }
      session.setStatus(t("connected"));
      state.serverTime = reply.server_time;
      session.scheduleRefresh(reply.expires_in);
      if (!state.joinedOnce) chat.clearChat();
      for (const message of reply.chat || []) chat.addChat(message);
      for (const comment of reply.comments || []) upsertComment(comment, movieId);
      if (Array.isArray(reply.comment_ids)) dropDeletedComments(reply.comment_ids, reply.comment_ids_complete);
      chat.renderPresence(reply.presence || []);
      state.joinedOnce = true;
      party.joined(reply.party, reply.server_time, sent, (performance.timeOrigin + performance.now()) / 1000);
    });
  }
  socket.on("connect", join);

  followComments(socket, movieId);
  followDownload(socket, panel, movieId);
  const party = new WatchParty(socket, panel, movieId, state, join);
  return chat.showChatError;
}
