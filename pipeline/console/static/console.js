// Progressive enhancement only: every page works without it.
"use strict";

// Tables marked .sortable sort by a column when its header is clicked (numbers as numbers; a cell's
// data-sort value, when present, is what sorts).
function sortKey(cell) {
  const raw = cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent.trim();
  const number = Number(raw.replace(/,/g, "").replace(/%$/, ""));
  return raw !== "" && !Number.isNaN(number) ? number : raw.toLowerCase();
}

function sortBy(table, index, header) {
  const body = table.tBodies[0];
  const descending = header.getAttribute("aria-sort") === "ascending";
  const rows = Array.from(body.rows).filter((row) => row.cells.length > index);
  rows.sort((a, b) => {
    const x = sortKey(a.cells[index]), y = sortKey(b.cells[index]);
    const order = typeof x === typeof y ? (x < y ? -1 : x > y ? 1 : 0) : String(x).localeCompare(String(y));
    return descending ? -order : order;
  });
  table.querySelectorAll("th").forEach((th) => th.removeAttribute("aria-sort"));
  header.setAttribute("aria-sort", descending ? "descending" : "ascending");
  rows.forEach((row) => body.appendChild(row));
}

document.querySelectorAll("table.sortable").forEach((table) => {
  table.querySelectorAll("thead th").forEach((header, index) => {
    header.addEventListener("click", () => sortBy(table, index, header));
  });
});

// A select marked data-autosubmit reloads its form when changed (the template choice changes the fields).
document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
  select.addEventListener("change", () => {
    const form = select.form;
    if (form.method.toLowerCase() === "get") {
      const params = new URLSearchParams(window.location.search);  // keeps the edit page's version
      params.set(select.name, select.value);
      window.location.search = params.toString();
    } else {
      form.submit();
    }
  });
});
