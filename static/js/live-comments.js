// A film page's comments kept live: new, edited and deleted comments of the server-rendered list
// ([data-comment-list], items with data-comment-id) and its counter.
import { confirmBeforeSubmit } from "./util.js";
import { avatar, el, profileLink, t } from "./live-text.js";

function commentList() {
  return document.querySelector("[data-comment-list]");
}

/** The newest comment id on the page, or null: what to ask the server for since. */
export function maxCommentId() {
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

function updateComment(existing, comment) {
  const body = existing.querySelector("[data-comment-body], .comment-body");
  if (body) body.textContent = comment.text ?? comment.content;
  const area = existing.querySelector(".comment-edit textarea");
  if (area && document.activeElement !== area) area.value = comment.text ?? comment.content;
  const head = existing.querySelector(".comment-head");
  if (comment.edited && head && !existing.querySelector(".comment-edited")) {
    head.append(" ", el("span", "comment-edited", t("edited")));
  }
}

/** Shows a new comment of the film, or the new text of one already shown. */
export function upsertComment(comment, movieId) {
  if (!comment || comment.movie_id !== movieId) return;
  const existing = document.querySelector(`[data-comment-id="${Number(comment.id)}"]`);
  if (existing) {
    updateComment(existing, comment);
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

/** Removes the shown comments missing from the server's ids (all of them when the ids are complete, else
 * those no older than the oldest id). */
export function dropDeletedComments(ids, complete) {
  const alive = new Set(ids.map(Number));
  const oldest = ids.length ? Math.min(...alive) : Infinity;
  for (const item of document.querySelectorAll("[data-comment-id]")) {
    const id = Number(item.dataset.commentId);
    if (!alive.has(id) && (complete || id >= oldest)) removeComment(id);
  }
}

/** Follows the film's comment events. */
export function followComments(socket, movieId) {
  socket.on("comment:new", (comment) => upsertComment(comment, movieId));
  socket.on("comment:update", (comment) => upsertComment(comment, movieId));
  socket.on("comment:delete", (data) => {
    if (data?.movie_id === movieId) removeComment(data.id);
  });
}
