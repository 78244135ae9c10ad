// Asset list: the header checkbox selects every row (for printing their labels).
(function () {
  var all = document.getElementById("select-all");
  if (!all) return;
  all.addEventListener("change", function (ev) {
    document.querySelectorAll(".asset-check").forEach(function (box) {
      box.checked = ev.target.checked;
    });
  });
})();
