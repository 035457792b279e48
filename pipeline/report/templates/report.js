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

  // Page views: rows from inline JSON, drawn (textContent only) when a view is first opened.
  var viewRows = null;
  function cell(tr, text, cls) {
    var td = tr.insertCell();
    td.textContent = text;
    if (cls) td.className = cls;
    return td;
  }
  function fixed(x, digits) {
    return x === null ? "" : x.toFixed(digits);
  }
  function drawView(section) {
    if (section.dataset.drawn) return;
    if (viewRows === null) viewRows = JSON.parse(document.getElementById("view-rows").textContent);
    var gold = section.dataset.gold === "1";
    var table = section.querySelector("table.lines");
    var head = table.createTHead().insertRow();
    var names = ["#", "text", "role"].concat(gold ? ["gold"] : [], ["dup of", "score", "topic", "p_on", "reason"]);
    names.forEach(function (name) {
      var th = document.createElement("th");
      th.textContent = name;
      head.appendChild(th);
    });
    var body = table.createTBody();
    viewRows[+section.dataset.view].forEach(function (r) {
      var tr = body.insertRow();
      tr.id = section.id + "-" + r[0];
      var repeat = r[3] !== null && r[2] === "body";
      tr.className = "r-" + (repeat ? "repeat" : r[2]) + (gold && r[8] !== r[2] ? " wrong" : "");
      cell(tr, r[0], "n");
      cell(tr, r[1], "t");
      cell(tr, r[2], "role");
      if (gold) cell(tr, r[8] || "", "role");
      var dup = cell(tr, "", "");
      if (r[3] !== null) {
        var a = document.createElement("a");
        a.href = "#" + section.id + "-" + r[3];
        a.title = "repeats line " + r[3];
        a.textContent = "\u2192" + r[3];
        dup.appendChild(a);
      }
      cell(tr, fixed(r[4], 2), "");
      cell(tr, r[5] || "", "");
      cell(tr, fixed(r[6], 2), "");
      cell(tr, r[7] || "", "reason");
    });
    section.dataset.drawn = "1";
  }
  function openFromHash() {
    var match = /^#(v\d+)(-\d+)?$/.exec(location.hash);
    if (!match) return;
    var section = document.getElementById(match[1]);
    if (!section) return;
    document.querySelectorAll(".pageview.open").forEach(function (s) { s.classList.remove("open"); });
    document.querySelectorAll("tr.hit").forEach(function (tr) { tr.classList.remove("hit"); });
    drawView(section);
    section.classList.add("open");
    var target = document.getElementById(location.hash.slice(1)) || section;
    if (target !== section) target.classList.add("hit");
    target.scrollIntoView();
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts();
    pagesTable();
    document.querySelectorAll(".pageview.open").forEach(drawView);
    openFromHash();
  });
  window.addEventListener("hashchange", openFromHash);
})();
