// Helpers shared by the page scripts: translated texts, toasts, JSON requests with the CSRF header, time
// formatting and confirmations. Importing it changes nothing on the page; the shell (app.js) wires it up.

/** The parsed JSON of a text, or {} when there is none or it is broken. */
export function parseJSON(text) {
  try {
    return JSON.parse(text || "{}");
  } catch (e) {
    return {};
  }
}

/** Fills the %(name)s placeholders of a translated text; unknown names are left as they are. */
export function fillPlaceholders(text, values = {}) {
  return String(text).replace(/%\((\w+)\)s/g, (whole, name) => (name in values ? String(values[name]) : whole));
}

let messages = null;

/** A message of the shell's catalog (already in the page's language), with its placeholders filled. */
export function message(key, values = {}) {
  messages ??= parseJSON(document.getElementById("client-messages")?.textContent);
  return fillPlaceholders(messages[key] ?? key, values);
}

// ------------------------------------------------------------------------------------------------ toasts

const TOAST_TIMEOUT = { info: 5000, success: 5000, warning: 8000, error: 10000 };

/**
 * Shows a short notification. kind: "info" | "success" | "warning" | "error".
 * Errors are announced assertively, the others politely. Returns the toast element.
 * options.timeout: milliseconds before it hides itself (0 keeps it until dismissed).
 */
export function toast(text, kind = "info", options = {}) {
  if (!["info", "success", "warning", "error"].includes(kind)) kind = "info";
  const region = document.querySelector(
    `[data-toast-region="${kind === "error" ? "assertive" : "polite"}"]`,
  );
  if (!region) return null;
  const item = document.createElement("div");
  item.className = `toast toast-${kind}`;
  const body = document.createElement("p");
  body.className = "toast-text";
  body.textContent = String(text);
  const close = document.createElement("button");
  close.type = "button";
  close.className = "toast-close";
  close.setAttribute("aria-label", message("dismiss"));
  close.textContent = "×";
  close.addEventListener("click", () => dismissToast(item));
  item.append(body, close);
  region.append(item);
  const timeout = options.timeout ?? TOAST_TIMEOUT[kind];
  if (timeout > 0) {
    let timer = setTimeout(() => dismissToast(item), timeout);
    // Keep it while the pointer or focus is on it, so it can be read or dismissed.
    item.addEventListener("mouseenter", () => clearTimeout(timer));
    item.addEventListener("focusin", () => clearTimeout(timer));
    item.addEventListener("mouseleave", () => {
      timer = setTimeout(() => dismissToast(item), timeout / 2);
    });
  }
  return item;
}

/** Hides a toast (a short fade, then it is removed). */
export function dismissToast(item) {
  if (!item.isConnected || item.classList.contains("toast-leaving")) return;
  item.classList.add("toast-leaving");
  setTimeout(() => item.remove(), 200);
}

// ------------------------------------------------------------------------------------------------- fetch

/** The CSRF token of this page, for the X-CSRF-Token header of fetch writes. */
function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]')?.content ?? "";
}

/**
 * fetch() for same-site JSON endpoints: sends the CSRF header and JSON bodies, parses JSON answers and
 * throws an Error whose message is the server's `error.message` (ready for toast) on failure; `status`
 * and `code` say what the server answered and are absent when it could not be reached.
 */
export async function fetchJSON(url, options = {}) {
  const headers = new Headers(options.headers || {});
  headers.set("Accept", "application/json");
  headers.set("X-CSRF-Token", csrfToken());
  let body = options.body;
  if (body !== undefined && !(body instanceof FormData) && typeof body !== "string") {
    headers.set("Content-Type", "application/json");
    body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, { credentials: "same-origin", ...options, headers, body });
  } catch (e) {
    throw new Error(message("networkError"));
  }
  const type = response.headers.get("Content-Type") || "";
  const data = type.includes("json") ? await response.json().catch(() => null) : null;
  if (!response.ok) {
    const error = new Error(data?.error?.message || data?.error_description || response.statusText);
    error.status = response.status;
    error.code = data?.error?.code;
    error.field = data?.error?.field;
    throw error;
  }
  return data;
}

// ------------------------------------------------------------------------------------------------- pages

/** A film position as m:ss or h:mm:ss; anything not a time of at least 0 shows as 0:00. */
export function formatTime(seconds) {
  const s = Number.isFinite(seconds) && seconds > 0 ? Math.floor(seconds) : 0;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
}

/** Asks the question of a form's data-confirm before it is sent; the form is not sent unless confirmed. */
export function confirmBeforeSubmit(form) {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
}
