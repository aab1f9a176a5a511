// Live password checks on the account forms: the same rules as the server, shown as a checklist.
const MIN_LENGTH = 10;
let commonList = null;

async function loadCommon() {
  if (commonList) return commonList;
  commonList = new Set();
  try {
    const response = await fetch("/password/common.txt", { credentials: "same-origin" });
    if (response.ok) {
      commonList = new Set((await response.text()).split("\n").map((w) => w.trim().toLowerCase()));
    }
  } catch (e) {
    // Offline or refused: the server still checks.
  }
  return commonList;
}

function personalParts(form, input) {
  const parts = [];
  for (const name of ["username", "email"]) {
    // The profile page keeps the username and email in its other form.
    const field = form.elements.namedItem(name) ?? document.querySelector(`input[name="${name}"]`);
    const value = field?.value ?? "";
    const v = value.trim().toLowerCase();
    if (v) parts.push(v);
    if (name === "email" && v.includes("@")) parts.push(v.split("@")[0]);
  }
  return parts.filter((p) => p.length >= 3);
}

function mark(item, ok, empty) {
  if (!item) return;
  item.classList.toggle("rule-ok", ok && !empty);
  item.classList.toggle("rule-bad", !ok && !empty);
}

function setup(input) {
  const form = input.form;
  const list = document.getElementById(input.getAttribute("aria-controls"));
  if (!form || !list) return;
  const check = async () => {
    const value = input.value;
    const lowered = value.toLowerCase();
    const empty = value.length === 0;
    const common = await loadCommon();
    const length = value.length >= MIN_LENGTH && value.length <= 128;
    const notCommon = !common.has(lowered);
    const notPersonal = !personalParts(form, input).some((p) => lowered.includes(p));
    mark(list.querySelector('[data-rule="length"]'), length, empty);
    mark(list.querySelector('[data-rule="common"]'), notCommon && !empty, empty);
    mark(list.querySelector('[data-rule="personal"]'), notPersonal, empty);
    const problem = empty || !length || !notCommon || !notPersonal;
    input.setCustomValidity(problem && !empty ? list.querySelector(".rule-bad")?.textContent ?? "" : "");
  };
  input.addEventListener("input", check);
  input.addEventListener("focus", () => loadCommon(), { once: true });
  for (const name of ["username", "email"]) {
    form.elements.namedItem(name)?.addEventListener?.("input", check);
  }
  const confirm = form.querySelector("[data-password-confirm]");
  if (confirm) {
    const same = () => confirm.setCustomValidity(confirm.value && confirm.value !== input.value ? confirm.dataset.mismatch || "≠" : "");
    confirm.addEventListener("input", same);
    input.addEventListener("input", same);
  }
  if (input.value) check();
}

for (const input of document.querySelectorAll("[data-password-input]")) setup(input);

// Preview a chosen picture before it is uploaded.
for (const picker of document.querySelectorAll('input[type="file"][name="picture"]')) {
  const preview = picker.form?.querySelector("[data-avatar-preview]");
  picker.addEventListener("change", () => {
    const file = picker.files?.[0];
    if (!preview || !file || !file.type.startsWith("image/")) return;
    preview.src = URL.createObjectURL(file);
  });
}
