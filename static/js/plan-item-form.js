// Plan item form: add and remove funding lines.
(() => {
  const rows = document.getElementById("funding-rows");
  const add = document.getElementById("add-funding");
  if (!rows || !add) return;
  add.addEventListener("click", () => {
    const copy = rows.querySelector(".funding-row").cloneNode(true);
    copy.querySelectorAll("input").forEach((input) => { input.value = ""; });
    copy.querySelectorAll("select").forEach((select) => { select.selectedIndex = 0; });
    rows.appendChild(copy);
  });
  rows.addEventListener("click", (event) => {
    if (!event.target.classList.contains("remove-funding")) return;
    const row = event.target.closest(".funding-row");
    if (rows.querySelectorAll(".funding-row").length > 1) { row.remove(); return; }
    row.querySelectorAll("input").forEach((input) => { input.value = ""; });
  });
})();
