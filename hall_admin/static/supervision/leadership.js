/* 领导看板: every efficiency indicator (000 §12.3.4, 002 §11.3.4) month by month, its definition and trend. */
import { api } from "/static/ov/api.js";
import { $, el, pageData } from "/static/ov/dom.js";
import { Trend } from "/admin/supervision/static/trend.js";

const page = pageData();
const pct = (v) => (v === null || v === undefined ? "—" : `${(v * 100).toFixed(1)}%`);
const monthLabel = (m) => `${Number(m.slice(0, 4))}年${Number(m.slice(5))}月`;
// Chart axis: "1月", with the year where a year starts (and on the first month shown).
const axisLabel = (m, i) => (i === 0 || m.endsWith("-01") ? `${m.slice(2, 4)}年${Number(m.slice(5))}月` : `${Number(m.slice(5))}月`);

function card(ind, months) {
  const box = el("div", {class: "trend"});
  // The latest month with something to count, and which month that is.
  const at = ind.values ? ind.values.map((v) => v !== null).lastIndexOf(true) : -1;
  const c = el("article", {class: "card lead-card" + (ind.needs_platform ? " platform" : ""), "data-key": ind.key},
    el("h2", {}, ind.label),
    ind.needs_platform ? null : el("div", {class: "latest"}, at < 0 ? "—" : pct(ind.values[at]),
                                   at < 0 ? null : el("small", {class: "muted"}, ` ${monthLabel(months[at])}`)),
    el("p", {class: "def"}, "口径：", ind.definition),
    ind.needs_platform ? el("p", {class: "platform-note"}, ind.note) : box);
  if (!ind.needs_platform) {
    // Placed first so the chart measures its real width.
    setTimeout(() => Trend.line(box, months.map(axisLabel), ind.values,
                                {name: ind.label, kind: "rate"}), 0);
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
// The months to end on: this one and the 35 before it.
const [y0, m0] = page.today.split("-").map(Number);
for (let i = 0; i < 36; i++) {
  const d = new Date(Date.UTC(y0, m0 - 1 - i, 1));
  const value = `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
  $("l-to").append(el("option", {value}, monthLabel(value)));
}
$("l-form").addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
load();
