// The player's subtitles: one <track> a language offered by the stream plan, and the CC menu (a menu of
// radio items, arrow keys and Escape) that chooses which one shows.

export function menuItem(child) {
  const li = document.createElement("li");
  li.setAttribute("role", "none");
  li.append(child);
  return li;
}

export class SubtitlesMenu {
  /** root: the player's element; texts: its data-t-* texts (tSubtitlesOff, tNoSubtitles). */
  constructor(root, video, texts) {
    this.video = video;
    this.texts = texts;
    this.menu = root.querySelector("[data-subs-menu]");
    this.button = root.querySelector("[data-subs-button]");
    this.lang = "";
    this.button.addEventListener("click", () => this.toggle());
  }

  /** Adds the plan's subtitles; the page's language is shown at once (English needs none). */
  load(subtitles) {
    this.menu.replaceChildren();
    const prefer = document.documentElement.lang;
    const items = [{ lang: "", label: this.texts.tSubtitlesOff }];
    for (const sub of subtitles) {
      const track = document.createElement("track");
      track.kind = "subtitles";
      track.src = sub.url;
      track.srclang = sub.lang;
      track.label = sub.label;
      track.dataset.lang = sub.lang;
      this.video.append(track);
      items.push(sub);
    }
    // Tracks load only when not disabled: keep them hidden (loaded, not shown) unless chosen.
    const chosen = subtitles.find((s) => s.lang === prefer && prefer !== "en")?.lang || "";
    for (const item of items) this.menu.append(menuItem(this.choice(item)));
    if (!subtitles.length) {
      const li = menuItem(this.texts.tNoSubtitles);
      li.className = "hint";
      this.menu.append(li);
    }
    this.choose(chosen);
  }

  choice(item) {
    const b = document.createElement("button");
    b.type = "button";
    b.setAttribute("role", "menuitemradio");
    b.dataset.lang = item.lang;
    b.textContent = item.label;
    b.addEventListener("click", () => {
      this.choose(item.lang);
      this.close();
      this.button.focus();
    });
    b.addEventListener("keydown", (e) => this.onKey(e));
    return b;
  }

  choose(lang) {
    this.lang = lang;
    for (const track of this.video.textTracks) {
      if (track.kind !== "subtitles" && track.kind !== "captions") continue;
      track.mode = lang && track.language === lang ? "showing" : "hidden";
    }
    for (const b of this.menu.querySelectorAll("button")) {
      b.setAttribute("aria-checked", String(b.dataset.lang === lang));
    }
    this.button.classList.toggle("is-on", Boolean(lang));
  }

  /** The next language, then none again (the c key). */
  cycle() {
    const langs = ["", ...Array.from(this.video.querySelectorAll("track")).map((t) => t.dataset.lang)];
    if (langs.length < 2) return;
    this.choose(langs[(langs.indexOf(this.lang || "") + 1) % langs.length]);
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
