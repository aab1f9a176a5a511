// A player menu of radio items (subtitles, audio): its button opens it, arrow keys move between the
// items, Escape closes it, the chosen item is checked.

function menuItem(child) {
  const li = document.createElement("li");
  li.setAttribute("role", "none");
  li.append(child);
  return li;
}

export class RadioMenu {
  constructor(menu, button) {
    this.menu = menu;
    this.button = button;
    this.button.addEventListener("click", () => this.toggle());
  }

  /** Replaces the items: [{value, label}], calling onChoose(value) when one is picked. */
  fill(items, onChoose) {
    this.menu.replaceChildren();
    for (const item of items) {
      const b = document.createElement("button");
      b.type = "button";
      b.setAttribute("role", "menuitemradio");
      b.dataset.value = item.value;
      b.textContent = item.label;
      b.addEventListener("click", () => {
        onChoose(item.value);
        this.close();
        this.button.focus();
      });
      b.addEventListener("keydown", (e) => this.onKey(e));
      this.menu.append(menuItem(b));
    }
  }

  /** A line that is not a choice (e.g. "no subtitles available"). */
  note(text, className = "hint") {
    const li = menuItem(text);
    li.className = className;
    this.menu.append(li);
  }

  check(value) {
    for (const b of this.menu.querySelectorAll("button")) {
      b.setAttribute("aria-checked", String(b.dataset.value === value));
    }
  }

  toggle() {
    if (this.menu.hidden) {
      this.menu.hidden = false;
      this.button.setAttribute("aria-expanded", "true");
      (this.menu.querySelector('button[aria-checked="true"]') || this.menu.querySelector("button"))?.focus();
    } else {
      this.close();
    }
  }

  close() {
    if (this.menu.hidden) return;
    this.menu.hidden = true;
    this.button.setAttribute("aria-expanded", "false");
  }

  onKey(e) {
    const buttons = Array.from(this.menu.querySelectorAll("button"));
    const i = buttons.indexOf(e.target);
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      e.stopPropagation();
      const step = e.key === "ArrowDown" ? 1 : -1;
      buttons[(i + step + buttons.length) % buttons.length].focus();
    } else if (e.key === "Escape") {
      e.stopPropagation();
      this.close();
      this.button.focus();
    }
  }
}
