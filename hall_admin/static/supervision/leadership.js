/* 领导看板: every efficiency indicator (000 §12.3.4, 002 §11.3.4) month by month, its definition and trend. */
"use strict";
(() => {
  const page = JSON.parse(document.getElementById("page-data").textContent);
  const {api, el} = OV;
  const $ = (id) => document.getElementById(id);
  const pct = (v) => (v === null || v === undefined ? "—" : `${(v * 100).toFixed(1)}%`);
  const monthLabel = (m) => `${Number(m.slice(0, 4))}年${Number(m.slice(5))}月`;

  function card(ind, months) {
    const box = el("div", {class: "trend"});
    const latest = ind.values ? [...ind.values].reverse().find((v) => v !== null) : null;
    const c = el("article", {class: "card lead-card" + (ind.needs_platform ? " platform" : ""), "data-key": ind.key},
      el("h2", {}, ind.label),
      ind.needs_platform ? null : el("div", {class: "latest"}, pct(latest === undefined ? null : latest)),
      el("p", {class: "def"}, "口径：", ind.definition),
      ind.needs_platform ? el("p", {class: "platform-note"}, ind.note) : box);
    if (!ind.needs_platform) {
      // Placed first so the chart measures its real width.
      setTimeout(() => Trend.line(box, months.map((m) => m.slice(2).replace("-", "/")), ind.values,
                                  {name: ind.label, fmt: (v) => `${Math.round(v * 1000) / 10}%`}), 0);
    }
    return c;
  }

  async function load() {
    try {
      const r = await api("GET", `/api/v1/halls/${page.hall_id}/leadership?months=${$("l-months").value}&to=${$("l-to").value}`);
      $("l-error").hidden = true;
      $("l-range").textContent = `统计范围：${r.from} 至 ${r.to}`;
      $("cards").replaceChildren(...r.indicators.map((i) => card(i, r.months)));
      $("l-table").querySelector("thead").replaceChildren(
        el("tr", {}, el("th", {}, "指标"), r.months.map((m) => el("th", {class: "num"}, monthLabel(m)))));
      $("l-table").querySelector("tbody").replaceChildren(...r.indicators.map((i) => el("tr", {"data-key": i.key},
        el("td", {}, i.label),
        i.needs_platform ? el("td", {colspan: r.months.length, class: "muted"}, i.note)
                         : i.values.map((v) => el("td", {class: "num"}, pct(v))))));
    } catch (e) {
      $("l-error").textContent = "指标加载失败，请稍后重试。";
      $("l-error").hidden = false;
    }
  }
  $("l-to").value = page.today.slice(0, 7);
  $("l-to").max = page.today.slice(0, 7);
  $("l-form").addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
  load();
})();
