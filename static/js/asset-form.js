// Asset form: show the special-equipment / medical blocks only for categories that call
// for them (the category's <option> carries data-special / data-medical).
(function () {
  var select = document.getElementById("category_id");
  if (!select) return;
  function toggle() {
    var opt = select.options[select.selectedIndex];
    document.querySelectorAll("[data-show-for]").forEach(function (block) {
      var on = opt && opt.dataset[block.dataset.showFor] === "1";
      block.hidden = !on;
      block.disabled = !on;
    });
  }
  select.addEventListener("change", toggle);
  toggle();
})();
