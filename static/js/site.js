// Long abstracts on cards are clamped to a few lines by the stylesheet from the first paint;
// this opens the ones that fit and gives the others a button that reveals the rest, laid
// over their last line so that nothing below moves.
(function () {
  function setup(root) {
    root.querySelectorAll("[data-clamp]").forEach(function (block) {
      if (block.dataset.ready) return;
      block.dataset.ready = "1";
      if (block.scrollHeight <= block.clientHeight + 2) {
        block.classList.add("is-open");
        return;
      }
      var button = document.createElement("button");
      button.type = "button";
      button.className = "more";
      button.textContent = "Show more";
      button.setAttribute("aria-expanded", "false");
      button.addEventListener("click", function () {
        var open = block.classList.toggle("is-open");
        button.textContent = open ? "Show less" : "Show more";
        button.setAttribute("aria-expanded", String(open));
      });
      block.append(button);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { setup(document); });
  document.addEventListener("htmx:load", function (event) { setup(event.target); });
})();
