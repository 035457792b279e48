(function () {
  "use strict";
  // Charts: one Vega-Lite spec per container, from the inline JSON (no network, no actions menu).
  function drawCharts() {
    var specs = document.getElementById("chart-specs");
    if (!specs || typeof vegaEmbed === "undefined") return;
    specs = JSON.parse(specs.textContent);
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      vegaEmbed(el, specs[el.dataset.chart], { actions: false, renderer: "svg" }).catch(function (err) {
        console.error(err);
      });
    });
  }

  // Pages table: rows from inline JSON, filtered as one types, shown a hundred at a time.
  function pagesTable() {
    var data = document.getElementById("page-rows");
    if (!data) return;
    var rows = JSON.parse(data.textContent);
    var body = document.querySelector("#page-table tbody");
    var search = document.getElementById("page-search");
    var count = document.getElementById("page-count");
    var more = document.getElementById("page-more");
    var shown = 100, matching = rows;
    function cell(tr, text, cls) {
      var td = tr.insertCell();
      td.textContent = text;
      if (cls) td.className = cls;
      return td;
    }
    function fmt(x, pct) {
      if (x === null) return "–";
      return pct ? Math.round(x * 100) + "%" : x.toFixed(3);
    }
    function draw() {
      body.textContent = "";
      matching.slice(0, shown).forEach(function (r) {
        var tr = body.insertRow();
        var id = cell(tr, "", "");
        var code = document.createElement("code");
        code.textContent = r[0];
        id.appendChild(code);
        var title = cell(tr, "", "");
        if (r[7] >= 0) {
          var a = document.createElement("a");
          a.href = "#v" + r[7];
          a.textContent = r[1] || "(no title)";
          title.appendChild(a);
        } else {
          title.textContent = r[1] || "(no title)";
        }
        cell(tr, r[2], "n");
        cell(tr, r[3], "n");
        cell(tr, fmt(r[4], true), "n");
        cell(tr, fmt(r[5], false), "n");
        cell(tr, r[6], "");
      });
      count.textContent = Math.min(shown, matching.length) + " of " + matching.length + " pages";
      more.hidden = matching.length <= shown;
    }
    search.addEventListener("input", function () {
      var q = search.value.trim().toLowerCase();
      matching = q ? rows.filter(function (r) {
        return r[0].toLowerCase().indexOf(q) >= 0 || r[1].toLowerCase().indexOf(q) >= 0;
      }) : rows;
      shown = 100;
      draw();
    });
    more.addEventListener("click", function () { shown += 100; draw(); });
    draw();
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts();
    pagesTable();
  });
})();
