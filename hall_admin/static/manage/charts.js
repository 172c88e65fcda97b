/* Small SVG charts for the statistics page: lines, a heat map and grouped bars. No dependencies. */
"use strict";
const Charts = (() => {
  const NS = "http://www.w3.org/2000/svg";

  function svg(tag, attrs = {}, text) {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function niceMax(v) {
    if (!(v > 0)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  function frame(box, w, h, title) {
    box.replaceChildren();
    const root = svg("svg", {viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": title || ""});
    box.append(root);
    return root;
  }

  function legend(box, series) {
    const lg = document.createElement("div");
    lg.className = "legend";
    for (const s of series) {
      const item = document.createElement("span");
      const sw = document.createElement("i");
      sw.style.background = s.color;
      item.append(sw, s.name);
      lg.append(item);
    }
    box.append(lg);
  }

  function yAxis(root, max, left, top, plotH, plotW, fmt) {
    for (let i = 0; i <= 4; i++) {
      const v = (max * i) / 4;
      const y = top + plotH - (plotH * i) / 4;
      root.append(svg("line", {x1: left, x2: left + plotW, y1: y, y2: y, stroke: "#e3e8ee"}));
      root.append(svg("text", {x: left - 6, y: y + 4, "text-anchor": "end", "font-size": 11, fill: "#66727f"},
                      fmt ? fmt(v) : String(Math.round(v * 100) / 100)));
    }
  }

  /** Lines over periods: ``series`` = [{name, color, values}] (null values leave gaps). */
  function lines(box, labels, series, opts = {}) {
    const w = 560, h = 240, left = 48, right = 12, top = 12, bottom = 40;
    const plotW = w - left - right, plotH = h - top - bottom;
    const root = frame(box, w, h, opts.title);
    const all = series.flatMap((s) => s.values).filter((v) => v !== null && v !== undefined);
    const max = niceMax(Math.max(0, ...all));
    yAxis(root, max, left, top, plotH, plotW, opts.fmt);
    const n = labels.length;
    const x = (i) => left + (n <= 1 ? plotW / 2 : (plotW * i) / (n - 1));
    const y = (v) => top + plotH - (plotH * v) / max;
    const every = Math.max(1, Math.ceil(n / 8));
    labels.forEach((lab, i) => {
      if ((i % every === 0 && n - 1 - i >= every / 2) || i === n - 1)
        root.append(svg("text", {x: x(i), y: h - bottom + 16, "font-size": 11, fill: "#44505c",
                                 "text-anchor": n > 1 && i === n - 1 ? "end" : n > 1 && i === 0 ? "start" : "middle"},
                        lab.length > 10 ? lab.slice(5) : lab));
    });
    for (const s of series) {
      let d = "";
      s.values.forEach((v, i) => {
        if (v === null || v === undefined) return;
        d += (d && s.values[i - 1] !== null && s.values[i - 1] !== undefined ? "L" : "M") + x(i) + "," + y(v);
      });
      root.append(svg("path", {d, fill: "none", stroke: s.color, "stroke-width": 2.5, class: "series"}));
      s.values.forEach((v, i) => {
        if (v === null || v === undefined) return;
        const dot = svg("circle", {cx: x(i), cy: y(v), r: 3.5, fill: s.color, class: "point"});
        dot.append(svg("title", {}, `${s.name} ${labels[i]}: ${opts.fmt ? opts.fmt(v) : v}`));
        root.append(dot);
      });
    }
    legend(box, series);
  }

  /** Weekday × hour counts as coloured cells (darker = more tickets). */
  function heatmap(box, rows, cols, counts) {
    const cell = 20, left = 40, top = 18;
    const w = left + cols.length * cell + 8, h = top + rows.length * cell + 8;
    const root = frame(box, w, h, "heat map");
    const max = Math.max(1, ...counts.flat());
    cols.forEach((c, j) => {
      if (j % 2 === 0) root.append(svg("text", {x: left + j * cell + cell / 2, y: 12, "text-anchor": "middle",
                                                "font-size": 10, fill: "#66727f"}, String(c)));
    });
    rows.forEach((r, i) => {
      root.append(svg("text", {x: left - 6, y: top + i * cell + 14, "text-anchor": "end", "font-size": 11,
                               fill: "#44505c"}, r));
      cols.forEach((c, j) => {
        const v = counts[i][j];
        const a = v ? 0.15 + 0.85 * (v / max) : 0;
        const rect = svg("rect", {x: left + j * cell + 1, y: top + i * cell + 1, width: cell - 2, height: cell - 2,
                                  rx: 3, fill: v ? `rgba(11,74,139,${a.toFixed(3)})` : "#eef2f6", class: "cell",
                                  "data-count": v});
        rect.append(svg("title", {}, `${r} ${c}:00 — ${v}`));
        root.append(rect);
      });
    });
  }

  /** Grouped horizontal bars per label: ``series`` = [{name, color, values, fmt}]. */
  function bars(box, labels, series) {
    const rowH = 14 * series.length + 10, left = 90, right = 60, top = 6;
    const w = 560, h = top + Math.max(1, labels.length) * rowH + 6;
    const plotW = w - left - right;
    const root = frame(box, w, h, "bars");
    const maxes = series.map((s) => niceMax(Math.max(0, ...s.values.filter((v) => v !== null))));
    labels.forEach((lab, i) => {
      const y0 = top + i * rowH;
      root.append(svg("text", {x: left - 8, y: y0 + rowH / 2 + 4, "text-anchor": "end", "font-size": 12,
                               fill: "#1d2733"}, lab));
      series.forEach((s, k) => {
        const v = s.values[i];
        const bw = v ? (plotW * v) / maxes[k] : 0;
        const bar = svg("rect", {x: left, y: y0 + 4 + k * 14, width: Math.max(bw, v ? 2 : 0), height: 11, rx: 2,
                                 fill: s.color, class: "bar"});
        bar.append(svg("title", {}, `${lab} ${s.name}: ${v === null ? "—" : (s.fmt ? s.fmt(v) : v)}`));
        root.append(bar);
        root.append(svg("text", {x: left + bw + 4, y: y0 + 13 + k * 14, "font-size": 10, fill: "#44505c"},
                        v === null ? "—" : (s.fmt ? s.fmt(v) : String(v))));
      });
    });
    legend(box, series);
  }

  return {lines, heatmap, bars};
})();
