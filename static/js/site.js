// Long abstracts on cards are clamped to a few lines; a button reveals the rest.
(function () {
  function setup(root) {
    root.querySelectorAll("[data-clamp]").forEach(function (block) {
      if (block.dataset.ready) return;
      block.dataset.ready = "1";
      block.classList.add("is-clamped");
      if (block.scrollHeight <= block.clientHeight + 2) {
        block.classList.remove("is-clamped");
        return;
      }
      var button = document.createElement("button");
      button.type = "button";
      button.className = "more";
      button.textContent = "Show more";
      button.setAttribute("aria-expanded", "false");
      button.addEventListener("click", function () {
        var open = block.classList.toggle("is-clamped") === false;
        button.textContent = open ? "Show less" : "Show more";
        button.setAttribute("aria-expanded", String(open));
      });
      block.after(button);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { setup(document); });
  document.addEventListener("htmx:load", function (event) { setup(event.target); });
})();
