// Runs before the first paint (a classic, blocking script in <head>) so the saved theme applies without a
// flash of the other one. The server already renders data-theme from the `theme` cookie; localStorage wins
// when both exist (the choice was made in this browser), and the cookie is brought back in line with it.
(function () {
  var root = document.documentElement;
  root.classList.add("js");
  var saved = null;
  try { saved = localStorage.getItem("theme"); } catch (e) { /* storage disabled */ }
  if (saved === "dark" || saved === "light") {
    root.setAttribute("data-theme", saved);
    if (!new RegExp("(?:^|;\\s*)theme=" + saved + "(?:;|$)").test(document.cookie)) {
      document.cookie = "theme=" + saved + "; path=/; max-age=31536000; samesite=lax";
    }
    // Pages with a separate dark stylesheet (Swagger UI's) switch it on or off with the theme.
    var sheet = document.querySelector("link[data-dark-stylesheet]");
    if (sheet) sheet.media = saved === "dark" ? "all" : "not all";
  }
})();
