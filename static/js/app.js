// Page shell behaviour: theme toggle, auto-submitting selects, toasts.
const root = document.documentElement;

function currentTheme() {
  if (root.dataset.theme === "dark" || root.dataset.theme === "light") return root.dataset.theme;
  return window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

for (const button of document.querySelectorAll("[data-theme-toggle]")) {
  button.setAttribute("aria-pressed", String(currentTheme() === "dark"));
  button.addEventListener("click", () => {
    const next = currentTheme() === "dark" ? "light" : "dark";
    root.dataset.theme = next;
    try { localStorage.setItem("theme", next); } catch (e) { /* not persisted */ }
    button.setAttribute("aria-pressed", String(next === "dark"));
  });
}

for (const select of document.querySelectorAll("select[data-autosubmit]")) {
  select.addEventListener("change", () => select.form.requestSubmit());
}

export function toast(message, kind = "info") {
  const box = document.querySelector("[data-toasts]");
  if (!box) return;
  const item = document.createElement("div");
  item.className = `toast toast-${kind}`;
  item.textContent = message;
  box.append(item);
  setTimeout(() => item.remove(), 6000);
}

export function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]')?.content ?? "";
}

for (const el of document.querySelectorAll("[data-flash]")) {
  toast(el.dataset.flash, el.dataset.flashKind || "info");
}
