// Runs before the first paint so the saved theme applies without a flash of the other one.
(function () {
  try {
    var saved = localStorage.getItem("theme");
    if (saved === "dark" || saved === "light") document.documentElement.dataset.theme = saved;
  } catch (e) { /* storage disabled: follow the system theme */ }
})();
