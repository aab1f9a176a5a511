// The page shell, loaded on every page: theme toggle, language switcher, the server's flash messages as
// toasts, generic form validation with inline messages and busy submit buttons.
// Page scripts import the shared helpers (toast, fetchJSON, ...) from util.js, not from here.
import { dismissToast, message, toast } from "./util.js";

const root = document.documentElement;

// ------------------------------------------------------------------------------------------------- theme

const THEME_KEY = "theme";
const darkQuery = window.matchMedia("(prefers-color-scheme: dark)");

/** "dark" or "light": the chosen theme, else the system's. */
export function currentTheme() {
  const chosen = root.getAttribute("data-theme");
  if (chosen === "dark" || chosen === "light") return chosen;
  return darkQuery.matches ? "dark" : "light";
}

/** Applies and remembers a theme (localStorage for this page load, a cookie so the server renders it). */
export function setTheme(theme) {
  if (theme !== "dark" && theme !== "light") return;
  root.setAttribute("data-theme", theme);
  try {
    localStorage.setItem(THEME_KEY, theme);
  } catch (e) {
    /* storage disabled: the cookie still carries the choice */
  }
  document.cookie = `${THEME_KEY}=${theme}; path=/; max-age=31536000; samesite=lax`;
  syncThemeButtons();
  document.dispatchEvent(new CustomEvent("themechange", { detail: { theme } }));
}

function syncThemeButtons() {
  const dark = currentTheme() === "dark";
  for (const button of document.querySelectorAll("[data-theme-toggle]")) {
    button.setAttribute("aria-pressed", String(dark));
    button.setAttribute("aria-label", message("themeDark"));
  }
}

for (const button of document.querySelectorAll("[data-theme-toggle]")) {
  button.addEventListener("click", () => setTheme(currentTheme() === "dark" ? "light" : "dark"));
}
darkQuery.addEventListener("change", syncThemeButtons);
syncThemeButtons();

// ------------------------------------------------------------------------------------- small enhancements

for (const select of document.querySelectorAll("select[data-autosubmit]")) {
  select.addEventListener("change", () => select.form?.requestSubmit());
}
for (const el of document.querySelectorAll("[data-hide-with-js]")) el.hidden = true;

// <button data-copy="element-id" data-copied="Copied."> copies that element's text to the clipboard.
async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
  // Plain http on another host has no Clipboard API: the older way, from a selected off-screen field.
  const area = Object.assign(document.createElement("textarea"), { value: text, readOnly: true });
  area.className = "visually-hidden";
  document.body.append(area);
  area.select();
  const done = document.execCommand("copy");
  area.remove();
  if (!done) throw new Error("copy refused");
}
document.addEventListener("click", async (event) => {
  const button = event.target instanceof Element ? event.target.closest("button[data-copy]") : null;
  const source = button && document.getElementById(button.dataset.copy);
  if (!source) return;
  try {
    await copyText(source.textContent.trim());
    toast(button.dataset.copied || "✓", "success");
  } catch (e) {
    window.getSelection()?.selectAllChildren(source); // at least selected, ready for Ctrl-C
  }
});

// ------------------------------------------------------------------------------------------------ toasts

// Escape closes the toast that has the focus.
document.addEventListener("keydown", (event) => {
  const item = event.target instanceof Element ? event.target.closest(".toast") : null;
  if (event.key === "Escape" && item) dismissToast(item);
});

// The server's flash messages are in the HTML so they show without scripts; re-insert them as toasts so
// that screen readers announce them and they get a dismiss button.
for (const el of document.querySelectorAll("[data-toast]")) {
  const kind = el.dataset.toast || "info";
  const text = el.textContent.trim();
  el.remove();
  setTimeout(() => toast(text, kind), 50);
}
// Any element may also ask for a toast while staying in the page: <p data-flash="Saved." data-flash-kind="success">
for (const el of document.querySelectorAll("[data-flash]")) {
  if (el.dataset.flash) setTimeout(() => toast(el.dataset.flash, el.dataset.flashKind || "info"), 50);
}

// ------------------------------------------------------------------------------------- form validation
//
// Every form gets it: HTML constraints (required, type, minlength, maxlength, min, max, pattern) plus
//   data-match="other-field-name"      equal to another field of the form (password confirmation)
//   data-differs="name1 name2"         different from other fields (a password unlike the username)
//   data-max-bytes="5242880"           for file inputs: size limit (the accept attribute is checked too)
//   data-msg-<rule>="text"             custom message for a rule: required, type, short, long, min, max,
//                                      pattern, match, differs, bytes, accept
// Opt out with <form data-validate="off">. Pages add their own rules with addValidator().

const validators = [];

/** Adds a rule: fn(field, form) returns an error message or "" (it runs after the built-in rules). */
export function addValidator(fn) {
  validators.push(fn);
}

function fieldLabel(form, name) {
  const other = form.elements.namedItem(name);
  const el = other instanceof RadioNodeList ? other[0] : other;
  const label = el?.labels?.[0]?.textContent?.trim();
  return (label || name).replace(/\s*\*$/, "").toLowerCase();
}

function formatBytes(n) {
  if (n >= 1048576) return `${Math.round((n / 1048576) * 10) / 10} MB`;
  if (n >= 1024) return `${Math.round(n / 1024)} KB`;
  return `${n} B`;
}

function acceptsFile(accept, file) {
  const rules = accept
    .split(",")
    .map((r) => r.trim().toLowerCase())
    .filter(Boolean);
  if (!rules.length) return true;
  const name = file.name.toLowerCase();
  const type = (file.type || "").toLowerCase();
  return rules.some((r) =>
    r.startsWith(".") ? name.endsWith(r) : r.endsWith("/*") ? type.startsWith(r.slice(0, -1)) : type === r,
  );
}

/** The message for the first broken rule of a field, or "". */
export function validationMessage(field) {
  const form = field.form;
  const v = field.validity;
  const custom = (rule) => field.dataset[`msg${rule[0].toUpperCase()}${rule.slice(1)}`];
  if (v.valueMissing) {
    if (custom("required")) return custom("required");
    if (field.type === "file") return message("valueMissingFile");
    if (field.type === "checkbox" || field.type === "radio" || field.tagName === "SELECT")
      return message("valueMissingChoice");
    return message("valueMissing");
  }
  // A page script's own verdict (setCustomValidity) comes first after "required".
  if (v.customError) return field.validationMessage;
  if (v.typeMismatch || v.badInput) {
    if (custom("type")) return custom("type");
    if (field.type === "email") return message("typeMismatchEmail");
    if (field.type === "url") return message("typeMismatchUrl");
    return message("typeMismatch");
  }
  if (v.tooShort) return custom("short") || message("tooShort", { min: field.minLength });
  if (v.tooLong) return custom("long") || message("tooLong", { max: field.maxLength });
  if (v.rangeUnderflow) return custom("min") || message("rangeUnderflow", { min: field.min });
  if (v.rangeOverflow) return custom("max") || message("rangeOverflow", { max: field.max });
  if (v.stepMismatch) return custom("step") || message("stepMismatch");
  if (v.patternMismatch) return custom("pattern") || field.title || message("patternMismatch");
  // Browsers only check minlength on what the user typed; check it for prefilled values too.
  if (field.minLength > 0 && field.value && field.value.length < field.minLength)
    return custom("short") || message("tooShort", { min: field.minLength });
  if (form && field.dataset.match) {
    const other = form.elements.namedItem(field.dataset.match);
    if (other && "value" in other && field.value !== other.value) return custom("match") || message("match");
  }
  if (form && field.dataset.differs && field.value) {
    for (const name of field.dataset.differs.split(/\s+/).filter(Boolean)) {
      const other = form.elements.namedItem(name);
      if (other && "value" in other && other.value && field.value.toLowerCase() === other.value.toLowerCase())
        return custom("differs") || message("differs", { other: fieldLabel(form, name) });
    }
  }
  if (field.type === "file" && field.files?.length) {
    const max = Number(field.dataset.maxBytes || 0);
    for (const file of field.files) {
      if (max && file.size > max) return custom("bytes") || message("maxBytes", { max: formatBytes(max) });
      if (field.accept && !acceptsFile(field.accept, file)) return custom("accept") || message("accept");
    }
  }
  for (const fn of validators) {
    const text = fn(field, form);
    if (text) return text;
  }
  return "";
}

function isValidatable(el) {
  return (
    el.willValidate &&
    !el.disabled &&
    !["submit", "button", "reset", "hidden", "image"].includes(el.type) &&
    el.closest("form")?.dataset.validate !== "off"
  );
}

function errorElementFor(field, create) {
  const key = field.id || field.name;
  let el = (field.id && document.getElementById(`${field.id}-error`)) || null;
  if (!el && field.form && field.name) el = field.form.querySelector(`[data-error-for="${CSS.escape(field.name)}"]`);
  if (!el && create) {
    if (!field.id) field.id = `field-${key || Math.random().toString(36).slice(2)}`;
    el = document.createElement("p");
    el.id = `${field.id}-error`;
    el.className = "field-error";
    el.dataset.errorFor = field.name || field.id;
    const container = field.closest(".field") || field.parentElement;
    if (container && container !== field.form) container.append(el);
    else field.after(el);
  }
  return el;
}

/** Shows (or clears, with "") the inline message of a field, with aria-invalid and aria-describedby. */
export function setFieldError(field, text) {
  const el = errorElementFor(field, Boolean(text));
  const described = new Set((field.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean));
  if (text) {
    el.textContent = text;
    el.hidden = false;
    described.add(el.id);
    field.setAttribute("aria-invalid", "true");
    field.closest(".field")?.classList.add("has-error");
  } else {
    if (el) {
      el.textContent = "";
      el.hidden = true;
      described.delete(el.id);
    }
    field.removeAttribute("aria-invalid");
    field.closest(".field")?.classList.remove("has-error");
  }
  if (described.size) field.setAttribute("aria-describedby", [...described].join(" "));
  else field.removeAttribute("aria-describedby");
}

/** Checks one field and shows its message; returns true when it is valid. */
export function checkField(field) {
  if (!isValidatable(field)) return true;
  const text = validationMessage(field);
  setFieldError(field, text);
  return !text;
}

/** Checks every field of a form; focuses the first bad one. Returns true when the form is valid. */
export function validateForm(form) {
  let first = null;
  for (const field of form.elements) {
    if (!isValidatable(field)) continue;
    if (!checkField(field) && !first) first = field;
  }
  if (first) {
    first.focus();
    return false;
  }
  return true;
}

function enhanceForm(form) {
  if (form.dataset.validate === "off" || form.dataset.enhanced) return;
  form.dataset.enhanced = "1";
  form.noValidate = true; // our messages instead of the browser's bubbles; without scripts those still work
  // Server-rendered messages: mark their fields so they are announced with the field.
  for (const el of form.querySelectorAll(".field-error[id$='-error']")) {
    const field = document.getElementById(el.id.slice(0, -6));
    if (field && el.textContent.trim()) {
      field.setAttribute("aria-invalid", "true");
      const ids = new Set((field.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean));
      ids.add(el.id);
      field.setAttribute("aria-describedby", [...ids].join(" "));
    }
  }
}

function touched(field) {
  return field.dataset.touched === "1";
}

function touchAndCheck(field) {
  field.dataset.touched = "1";
  checkField(field);
}

/** Calls handler(field) when a validatable form field gets the event; in the capture phase, as blur does
 * not bubble. */
function onFormField(type, handler) {
  document.addEventListener(
    type,
    (event) => {
      const field = event.target;
      if (field instanceof HTMLElement && field.form && isValidatable(field)) handler(field);
    },
    true,
  );
}

onFormField("blur", (field) => {
  if (field.value !== "" || touched(field)) touchAndCheck(field);
});

onFormField("input", (field) => {
  // Once a field has shown a message, re-check it as the user types so the message goes away.
  if (touched(field) || field.getAttribute("aria-invalid") === "true") touchAndCheck(field);
  // A confirmation field depends on the field it repeats.
  for (const other of field.form.querySelectorAll("[data-match], [data-differs]")) {
    if (other !== field && touched(other)) checkField(other);
  }
});

onFormField("change", (field) => {
  if (field.type === "file" || field.type === "checkbox") touchAndCheck(field);
});

// Capture phase: runs before the page's own submit handlers, which never see an invalid form.
document.addEventListener(
  "submit",
  (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || form.dataset.validate === "off") return;
    for (const field of form.elements) if (isValidatable(field)) field.dataset.touched = "1";
    if (!validateForm(form)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  },
  true,
);

// Bubble phase: a form that really leaves the page gets a busy submit button (no double submit).
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || event.defaultPrevented || form.dataset.busy === "off") return;
  const button = event.submitter || form.querySelector("[type=submit]");
  if (button instanceof HTMLButtonElement) {
    setBusy(button, true);
    // A response that does not replace the page (a download, a 204) must not leave it stuck.
    setTimeout(() => setBusy(button, false), 15000);
  }
});

/** Marks a button (or any element) as busy: spinner, aria-busy, and buttons are disabled meanwhile. */
export function setBusy(el, busy) {
  el.classList.toggle("is-busy", busy);
  if (busy) el.setAttribute("aria-busy", "true");
  else el.removeAttribute("aria-busy");
  if (el instanceof HTMLButtonElement) {
    // Disabled after the submit event so the button's own name/value is still sent.
    if (busy) setTimeout(() => (el.disabled = true), 0);
    else el.disabled = false;
  }
}

// Coming back through the history cache must not leave buttons spinning.
window.addEventListener("pageshow", (event) => {
  if (event.persisted) for (const el of document.querySelectorAll(".is-busy")) setBusy(el, false);
});

function enhanceAll() {
  for (const form of document.forms) enhanceForm(form);
}
enhanceAll();
// Forms added later (infinite scroll, dialogs) get the same treatment.
new MutationObserver(enhanceAll).observe(document.body, { childList: true, subtree: true });
