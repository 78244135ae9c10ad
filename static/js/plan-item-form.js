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

// Replaced-asset picker: search the institution's assets by code or name, a page at a
// time, and add the chosen one as a ticked row of the candidate table.
(() => {
  const input = document.getElementById("asset-search");
  const button = document.getElementById("asset-search-btn");
  const results = document.getElementById("asset-results");
  const rows = document.getElementById("candidate-rows");
  if (!input || !button || !results || !rows) return;
  let page = 1;

  const pick = (asset) => {
    const existing = document.getElementById(`asset-${asset.id}`);
    if (existing) { existing.checked = true; return; }
    const tr = document.createElement("tr");
    const td = document.createElement("td");
    const box = document.createElement("input");
    Object.assign(box, { type: "checkbox", name: "replaced_asset_ids", value: asset.id,
      id: `asset-${asset.id}`, className: "form-check-input", checked: true });
    td.appendChild(box);
    tr.appendChild(td);
    const code = document.createElement("td");
    const label = document.createElement("label");
    label.htmlFor = box.id;
    label.textContent = asset.code;
    code.appendChild(label);
    tr.appendChild(code);
    const name = document.createElement("td");
    name.colSpan = 7;
    name.textContent = asset.name;
    tr.appendChild(name);
    rows.prepend(tr);
  };

  const show = (data) => {
    results.replaceChildren();
    if (!data.items.length) {
      results.textContent = input.dataset.none;
      return;
    }
    const list = document.createElement("ul");
    list.className = "list-group list-group-flush small";
    data.items.forEach((asset) => {
      const li = document.createElement("li");
      li.className = "list-group-item d-flex gap-2 align-items-center py-1";
      const text = document.createElement("span");
      text.className = "me-auto";
      text.textContent = `${asset.code} ${asset.name} ${asset.location}`;
      const choose = document.createElement("button");
      Object.assign(choose, { type: "button", className: "btn btn-sm btn-outline-primary pick-asset",
        textContent: input.dataset.pick });
      choose.dataset.id = asset.id;
      choose.addEventListener("click", () => pick(asset));
      li.append(text, choose);
      list.appendChild(li);
    });
    results.appendChild(list);
    const nav = document.createElement("div");
    nav.className = "d-flex gap-2 mt-1";
    if (data.page > 1) nav.appendChild(navButton(input.dataset.prev, data.page - 1));
    if (data.has_more) nav.appendChild(navButton(input.dataset.more, data.page + 1));
    results.appendChild(nav);
  };

  const navButton = (text, target) => {
    const b = document.createElement("button");
    Object.assign(b, { type: "button", className: "btn btn-sm btn-link", textContent: text });
    b.addEventListener("click", () => { page = target; search(); });
    return b;
  };

  const search = () => {
    const url = `${input.dataset.url}?q=${encodeURIComponent(input.value)}&page=${page}`;
    fetch(url, { credentials: "same-origin" }).then((r) => r.json()).then(show);
  };

  button.addEventListener("click", () => { page = 1; search(); });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); page = 1; search(); }
  });
})();
