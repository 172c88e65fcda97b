/* The case indicators (办件指标) of the statistics page, with each one's definition, for the chosen dates. */
import { api } from "/static/ov/api.js";
import { $, el, pageData } from "/static/ov/dom.js";

const page = pageData();
const form = document.getElementById("stats-form");
const PERCENT = new Set(["on_the_spot_acceptance_rate", "on_time_rate", "immediate_rate", "deferred_on_time_rate",
                         "one_trip_rate"]);

function show(ind) {
  if (ind.key === "overdue_by_department") {
    return ind.value.length ? ind.value.map((d) => `${d.department} ${d.count}件`).join("；") : "无";
  }
  if (ind.value === null) return "—";
  return PERCENT.has(ind.key) ? `${(ind.value * 100).toFixed(1)}%` : String(ind.value);
}

async function load() {
  const q = `from=${form.from.value}&to=${form.to.value}`;
  const base = `/api/v1/halls/${page.hall_id}/case-indicators`;
  try {
    const r = await api("GET", `${base}?${q}`);
    $("case-indicators").querySelector("tbody").replaceChildren(...r.indicators.map((ind) =>
      el("tr", {"data-key": ind.key}, el("td", {}, ind.label), el("td", {class: "num"}, show(ind)),
        el("td", {class: "muted"}, ind.definition))));
    $("case-csv").href = `${base}.csv?${q}`;
  } catch (e) {
    $("case-indicators").querySelector("tbody").replaceChildren(
      el("tr", {}, el("td", {colspan: 3}, "办件指标加载失败，请稍后重试。")));
  }
}
form.addEventListener("submit", () => setTimeout(load, 0));
setTimeout(load, 0);  // after stats.js has filled in the dates
