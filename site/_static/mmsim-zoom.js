// mmsim course website: click (or Enter on) a figure to see it at full size; click, Escape or "Close" to go back.
// Figures are scaled to the column; this shows the same image or SVG at its own size, scrollable (issue #22).
(function () {
  "use strict";
  const SELECTOR = ".cell_output img, .mmsim-static svg, main figure img";

  function close(overlay, opener) {
    overlay.remove();
    document.body.style.overflow = "";
    if (opener) opener.focus();
  }

  function open(figure) {
    const overlay = document.createElement("div");
    overlay.className = "mmsim-zoom-overlay";
    overlay.setAttribute("role", "dialog");
    overlay.setAttribute("aria-label", "figure at full size");
    const button = document.createElement("button");
    button.className = "mmsim-zoom-close";
    button.type = "button";
    button.textContent = "Close";
    const copy = figure.cloneNode(true);
    copy.removeAttribute("tabindex");
    if (copy.tagName.toLowerCase() === "svg") copy.style.maxWidth = "none";
    overlay.append(button, copy);
    overlay.addEventListener("click", () => close(overlay, figure));
    overlay.addEventListener("keydown", (e) => { if (e.key === "Escape") close(overlay, figure); });
    document.body.append(overlay);
    document.body.style.overflow = "hidden";
    button.focus();
  }

  function setup() {
    for (const figure of document.querySelectorAll(SELECTOR)) {
      figure.setAttribute("tabindex", "0");
      figure.setAttribute("title", "click to see it at full size");
      figure.addEventListener("click", () => open(figure));
      figure.addEventListener("keydown", (e) => {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); open(figure); }
      });
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();
