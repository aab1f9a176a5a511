// Account forms: live password rules (the server's rules, shown as a checklist that updates while typing)
// plugged into the shell's form validation, and a preview of a chosen profile picture.
const MIN_LENGTH = 10;
const MAX_LENGTH = 128;
let common = new Set();

const inputs = [...document.querySelectorAll("[data-password-input]")];

async function loadCommon() {
  try {
    const response = await fetch("/password/common.txt", { credentials: "same-origin" });
    if (response.ok) common = new Set((await response.text()).split("\n").map((w) => w.trim().toLowerCase()));
  } catch (e) {
    // Offline or refused: the server still checks.
  }
  for (const input of inputs) if (input.value) refresh(input);
}

function personalParts(form) {
  const parts = [];
  for (const name of ["username", "email"]) {
    // The profile page keeps the username and email in its other form.
    const field = form.elements.namedItem(name) ?? document.querySelector(`input[name="${name}"]`);
    const value = (field?.value ?? "").trim().toLowerCase();
    if (value) parts.push(value);
    if (name === "email" && value.includes("@")) parts.push(value.split("@")[0]);
  }
  return parts.filter((p) => p.length >= 3);
}

/** Which rules the value keeps: {length, common, personal} → true when kept. */
function rules(input) {
  const value = input.value;
  const lowered = value.toLowerCase();
  return {
    length: value.length >= MIN_LENGTH && value.length <= MAX_LENGTH,
    common: !common.has(lowered),
    personal: !personalParts(input.form).some((p) => lowered.includes(p)),
  };
}

function checklist(input) {
  return document.getElementById(input.getAttribute("aria-controls") || "");
}

function refresh(input) {
  const list = checklist(input);
  if (!list) return;
  const kept = rules(input);
  const empty = input.value.length === 0;
  for (const [rule, ok] of Object.entries(kept)) {
    const item = list.querySelector(`[data-rule="${rule}"]`);
    if (!item) continue;
    item.classList.toggle("rule-ok", ok && !empty);
    item.classList.toggle("rule-bad", !ok && !empty);
  }
}

/** The first broken rule's text (already in the page's language), or "". */
function passwordProblem(field) {
  if (!field.matches?.("[data-password-input]") || !field.value) return "";
  const list = checklist(field);
  const kept = rules(field);
  for (const rule of ["length", "common", "personal"]) {
    if (!kept[rule]) return list?.querySelector(`[data-rule="${rule}"]`)?.textContent.trim() || rule;
  }
  return "";
}

if (inputs.length) {
  for (const input of inputs) {
    input.addEventListener("input", () => refresh(input));
    for (const name of ["username", "email"]) {
      document.querySelector(`input[name="${name}"]`)?.addEventListener("input", () => refresh(input));
    }
  }
  loadCommon();
  // The shell's module, by the exact URL the page loaded it from, so it is the same instance.
  const shell = document.querySelector('script[type="module"][src*="/js/app.js"]');
  if (shell) {
    import(shell.src)
      .then((app) => app.addValidator?.((field) => passwordProblem(field)))
      .catch(() => {
        /* without the shell's validation the server's messages still appear */
      });
  }
}

// Preview a chosen picture before it is uploaded.
for (const picker of document.querySelectorAll('input[type="file"][name="picture"]')) {
  const preview = picker.form?.querySelector("[data-avatar-preview]");
  picker.addEventListener("change", () => {
    const file = picker.files?.[0];
    if (!preview || !file || !file.type.startsWith("image/")) return;
    preview.src = URL.createObjectURL(file);
  });
}
