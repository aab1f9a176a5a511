// The player's keyboard shortcuts: space or k play/pause, ← → 5 s, f full screen, m mute, c next
// subtitles, Esc closes the menus. Keys typed into text fields are left alone.

const SEEK_STEP = 5;

/** Handles a keydown meant for the player (its element, or the page when nothing has focus). */
export function playerKey(player, e) {
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const tag = e.target.tagName;
  if (tag === "TEXTAREA" || tag === "SELECT" || (tag === "INPUT" && e.target.type !== "range")) return;
  const onRange = tag === "INPUT";
  switch (e.key) {
    case " ":
    case "k":
      if (e.key === " " && tag === "BUTTON") return; // the focused button handles its own space
      e.preventDefault();
      player.toggle();
      break;
    case "ArrowLeft":
    case "ArrowRight":
      if (onRange) return;
      e.preventDefault();
      player.seekTo(player.video.currentTime + (e.key === "ArrowLeft" ? -SEEK_STEP : SEEK_STEP));
      break;
    case "f":
      e.preventDefault();
      player.layout.toggleFullscreen();
      break;
    case "m":
      e.preventDefault();
      player.toggleMute();
      break;
    case "c":
      e.preventDefault();
      player.subtitles.cycle();
      break;
    case "Escape":
      for (const menu of player.menus) menu.close();
      break;
    default:
  }
}
