// Draws the overview's charts with plotly.js (served by the gateway from the plotly package) from
// the JSON the page embeds. Each chart: one trace per series, one point per bucket.
(function () {
  "use strict";
  var PALETTE = ["#3b5bdb", "#12b886", "#f08c00", "#ae3ec9", "#e03131", "#1098ad", "#74b816", "#868e96"];
  var FONT = {family: "system-ui, -apple-system, Segoe UI, Roboto, DejaVu Sans, sans-serif", size: 12, color: "#1c2433"};

  function layoutFor(spec) {
    var time = spec.kind === "stacked" || spec.kind === "line";
    var usd = spec.unit === "USD";
    var layout = {
      font: FONT, colorway: PALETTE, paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
      margin: {l: 56, r: 12, t: 8, b: 36}, showlegend: spec.series.length > 1,
      legend: {orientation: "h", y: 1.12, x: 0, font: {size: 11}},
      hovermode: time ? "x unified" : "closest",
      xaxis: {gridcolor: "#eef1f6", linecolor: "#d5dbe5", automargin: true},
      yaxis: {gridcolor: "#eef1f6", zeroline: false, rangemode: "tozero", automargin: true,
              tickprefix: usd ? "$" : "", ticksuffix: spec.unit === "ms" ? " ms" : "", separatethousands: true}
    };
    if (time) {
      layout.xaxis.type = "date";
      layout.xaxis.hoverformat = spec.bucket === "day" ? "%Y-%m-%d" : "%Y-%m-%d %H:00 UTC";
    }
    if (spec.kind === "bars") { layout.barmode = "group"; layout.bargap = 0.3; }
    if (spec.kind === "hbars") {
      layout.yaxis = {automargin: true, autorange: "reversed"};
      layout.xaxis.rangemode = "tozero";
      layout.margin.l = 12;
      layout.bargap = spec.x.length < 3 ? 0.55 : 0.3;
    }
    return layout;
  }

  function tracesFor(spec) {
    return spec.series.map(function (series, i) {
      if (spec.kind === "bars") {
        return {type: "bar", name: series.name, x: spec.x, y: series.y, hovertemplate: "%{x}: %{y:,} ms<extra>%{fullData.name}</extra>"};
      }
      if (spec.kind === "hbars") {
        return {type: "bar", orientation: "h", name: series.name, y: spec.x, x: series.y, marker: {color: "#e03131"},
                hovertemplate: "%{y}: %{x:,}<extra></extra>"};
      }
      var trace = {type: "scatter", mode: "lines+markers", name: series.name, x: spec.x, y: series.y,
                   line: {width: 2, shape: "linear"}, marker: {size: 5},
                   hovertemplate: (spec.unit === "USD" ? "$%{y:,.4f}" : "%{y:,}") + "<extra>%{fullData.name}</extra>"};
      if (spec.kind === "stacked") { trace.stackgroup = "one"; }
      if (spec.unit === "errors") { trace.line.color = "#e03131"; trace.marker.color = "#e03131"; }
      return trace;
    });
  }

  function draw() {
    var source = document.getElementById("chart-data");
    if (!source || typeof Plotly === "undefined") { return Promise.resolve(); }
    var data = JSON.parse(source.textContent);
    var drawn = Array.prototype.map.call(document.querySelectorAll("[data-chart]"), function (el) {
      var spec = data[el.getAttribute("data-chart")];
      return Plotly.newPlot(el, tracesFor(spec), layoutFor(spec), {displayModeBar: false, responsive: true});
    });
    return Promise.all(drawn);
  }

  function ready() {
    draw().then(function () { document.body.setAttribute("data-charts", "drawn"); });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", ready); } else { ready(); }
})();
