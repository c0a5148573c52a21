/* global localStorage, matchMedia, document */
// Apply the saved theme before the first paint (no flash of the wrong theme). A file, not an
// inline script, so the dashboard's Content-Security-Policy can forbid inline scripts.
try {
  var s = JSON.parse(localStorage.getItem("cachet.settings") || "{}");
  var dark = s.theme === "dark" || (s.theme !== "light" && matchMedia("(prefers-color-scheme: dark)").matches);
  document.documentElement.classList.toggle("dark", dark);
} catch {
  // unreadable settings: keep the default theme
}
