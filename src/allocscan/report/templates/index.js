// allocscan HTML index: filter, sort, and keep the charts in step with what is shown.
(function () {
  "use strict";
  var table = document.getElementById("findings");
  var rows = table ? Array.prototype.slice.call(table.tBodies[0].rows) : [];
  var selects = Array.prototype.slice.call(document.querySelectorAll(".filters select"));
  var search = document.getElementById("f-text");
  var shown = document.getElementById("shown");

  function matches(row) {
    for (var i = 0; i < selects.length; i++) {
      var want = selects[i].value;
      if (want && row.dataset[selects[i].dataset.key] !== want) return false;
    }
    var text = search.value.trim().toLowerCase();
    return !text || row.dataset.text.indexOf(text) >= 0;
  }

  function redrawCharts(visible) {
    var bars = document.querySelectorAll(".chart svg .bar");
    for (var i = 0; i < bars.length; i++) {
      var bar = bars[i], key = bar.dataset.key, value = bar.dataset.value, n = 0;
      for (var j = 0; j < visible.length; j++) if (visible[j].dataset[key] === value) n++;
      var total = parseInt(bar.dataset.total, 10), full = parseFloat(bar.dataset.width);
      var fill = bar.querySelector("rect.fill");
      fill.setAttribute("width", total ? (full * n / total).toFixed(1) : "0");
      bar.querySelector("text.count").textContent = n === total ? String(total) : n + " / " + total;
    }
  }

  function apply() {
    var visible = [];
    rows.forEach(function (row) {
      var ok = matches(row);
      row.hidden = !ok;
      if (ok) visible.push(row);
    });
    shown.textContent = String(visible.length);
    redrawCharts(visible);
  }

  selects.forEach(function (s) { s.addEventListener("change", apply); });
  if (search) search.addEventListener("input", apply);

  // A click on a bar filters by it (a second click clears the filter).
  Array.prototype.forEach.call(document.querySelectorAll(".chart svg .bar"), function (bar) {
    bar.addEventListener("click", function () {
      var select = document.querySelector('.filters select[data-key="' + bar.dataset.key + '"]');
      select.value = select.value === bar.dataset.value ? "" : bar.dataset.value;
      apply();
    });
  });

  // Sorting: click a header; again to reverse.
  if (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
      th.addEventListener("click", function () {
        var col = parseInt(th.dataset.col, 10);
        var numeric = th.dataset.type === "num";
        var descending = th.getAttribute("aria-sort") === "ascending";
        Array.prototype.forEach.call(table.tHead.rows[0].cells, function (c) { c.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", descending ? "descending" : "ascending");
        var sorted = rows.slice().sort(function (a, b) {
          var x = a.cells[col].dataset.sort, y = b.cells[col].dataset.sort, d;
          if (numeric) d = parseFloat(x) - parseFloat(y);
          else d = x < y ? -1 : x > y ? 1 : 0;
          return descending ? -d : d;
        });
        var body = table.tBodies[0];
        sorted.forEach(function (row) { body.appendChild(row); });
      });
    });
  }

  // Filters can come in the address: index.html#rule=AS002&level=error
  if (location.hash.length > 1) {
    location.hash.slice(1).split("&").forEach(function (pair) {
      var kv = pair.split("="), select = document.querySelector('.filters select[data-key="' + kv[0] + '"]');
      if (select && kv.length === 2) select.value = decodeURIComponent(kv[1]);
    });
  }
  apply();
})();
