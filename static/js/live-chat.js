// A film page's chat and who is here: messages, "is typing" lines and the list of people on the page.
import { avatar, el, profileLink, t } from "./live-text.js";

const MAX_CHAT_ITEMS = 200;

/** Says who is typing and tells the others while this page's user types. Returns clearTyping(name). */
function followTyping(socket, panel, movieId) {
  const chatInput = panel.querySelector("[data-chat-input]");
  const typingLine = panel.querySelector("[data-typing]");
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
  return clearTyping;
}

/** Keeps the list of people on the page. Returns renderPresence(users). */
function followPresence(socket, panel, movieId) {
  const presenceList = panel.querySelector("[data-presence]");
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
  return renderPresence;
}

/**
 * Wires the panel's chat. `state.lastChatId` is kept to the newest message shown. Returns what joining
 * the room needs: addChat(message), clearChat(), renderPresence(users), and showChatError(text) for the
 * server's refusals of a message.
 */
export function followChat(socket, panel, movieId, state) {
  const chatLog = panel.querySelector("[data-chat-log]");
  const chatForm = panel.querySelector("[data-chat-form]");
  const chatInput = panel.querySelector("[data-chat-input]");
  const chatError = panel.querySelector("[data-chat-error]");
  const clearTyping = followTyping(socket, panel, movieId);
  const renderPresence = followPresence(socket, panel, movieId);

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
  function showChatError(message) {
    chatError.textContent = message;
    chatError.hidden = false;
    clearTimeout(chatErrorTimer);
    chatErrorTimer = setTimeout(() => { chatError.hidden = true; }, 5000);
  }

  chatForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = chatInput.value.trim();
    if (!text) return;
    socket.emit("chat:send", { movie_id: movieId, text }, (reply) => {
      if (reply?.ok) {
        chatInput.value = "";
        chatError.hidden = true;
      }
    });
  });

  return { addChat, clearChat: () => chatLog.replaceChildren(), renderPresence, showChatError };
}
