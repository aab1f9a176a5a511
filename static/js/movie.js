// Film page: confirm before deleting a comment, keep the comment counter of the textarea honest.
import { confirmBeforeSubmit } from "./util.js";

for (const form of document.querySelectorAll("form[data-confirm]")) confirmBeforeSubmit(form);

for (const area of document.querySelectorAll(".comments textarea[maxlength]")) {
  const hint = area.form.querySelector(".hint");
  if (!hint) continue;
  const max = Number(area.getAttribute("maxlength"));
  const original = hint.textContent;
  area.addEventListener("input", () => {
    hint.textContent = area.value.length ? `${area.value.length} / ${max}` : original;
  });
}
