// Import upload form: the plan choice matters only for plan items.
(function () {
  const kind = document.getElementById("kind");
  const plan = document.getElementById("plan_id");
  if (!kind || !plan) return;
  const box = plan.closest(".mb-3");
  const sync = () => box.classList.toggle("d-none", kind.value !== "plan_items");
  kind.addEventListener("change", sync);
  sync();
})();
