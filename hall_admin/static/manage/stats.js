/* Statistics page: fetch the statistics API with the session cookie and draw tiles, charts and a table. */
import { api } from "/static/ov/api.js";
import { $, el, pageData } from "/static/ov/dom.js";
import { Charts } from "/admin/manage/static/charts.js";

const page = pageData();
const form = document.getElementById("stats-form");
const pct = (v) => (v === null || v === undefined ? "—" : (v * 100).toFixed(1) + "%");
const mins = (s) => (s === null || s === undefined ? "—" : (s / 60).toFixed(1) + " 分");
const num = (v) => (v === null || v === undefined ? "—" : String(v));

function query(by) {
  const p = new URLSearchParams({from: form.from.value, to: form.to.value, group: form.group.value, by});
  return p.toString();
}

function tile(key, value, sub, cls) {
  return el("div", {class: "tile " + (cls || ""), "data-kpi": key},
               el("div", {class: "k"}, key), el("div", {class: "v"}, value), el("div", {class: "s"}, sub || ""));
}

function drawTiles(r) {
  const t = r.totals;
  const grade = (v, good, bad) => (v === null ? "" : v >= good ? "good" : v < bad ? "bad" : "warn");
  $("tiles").replaceChildren(
    tile("取号", num(t.issued), `已办 ${num(t.served)} · 过号 ${pct(t.no_show_rate)}`),
    tile("平均等候", mins(t.wait_mean_s), `P90 ${mins(t.wait_p90_s)}`,
         t.wait_p90_s === null ? "" : t.wait_p90_s > 1800 ? "bad" : t.wait_p90_s > 900 ? "warn" : "good"),
    tile("平均办理", mins(t.service_mean_s), "开始→结束"),
    tile("当场办结率", pct(t.on_the_spot_rate), `${num(t.completed)} / ${num(t.finished_matters)} 件`,
         grade(t.on_the_spot_rate, 0.8, 0.5)),
    tile("即办件比率", pct(r.catalog.immediate_item_share),
         `目录 ${r.catalog.immediate_items}/${r.catalog.active_items} · 办件 ${pct(t.immediate_handled_share)}`),
    tile("只跑一次率", pct(t.one_visit_rate), `${num(t.one_visit)} / ${num(t.matters)} 件（实名）`,
         grade(t.one_visit_rate, 0.9, 0.7)),
    tile("满意度", pct(t.satisfaction), `${num(t.ratings)} 条评价 · 均分 ${num(t.rating_mean)}`,
         grade(t.satisfaction, 0.9, 0.7)),
    tile("容缺受理", num(t.deferred), `一次性告知 ${num(t.notices)}`),
    tile("AB岗顶岗", num(t.covers), `${num(t.cover_minutes)} 分钟`),
    tile("空岗", num(t.empty_posts), `${num(t.empty_minutes)} 分钟`, t.empty_posts ? "bad" : "good"),
  );
}

function drawTrends(r) {
  const labels = r.periods.map((p) => p.period);
  Charts.lines($("chart-volume"), labels, [
    {name: "取号", color: "#0b4a8b", values: r.periods.map((p) => p.issued)},
    {name: "已办", color: "#2e7d32", values: r.periods.map((p) => p.served)},
    {name: "过号", color: "#b3261e", values: r.periods.map((p) => p.no_show)},
  ], {kind: "count", file: "取号与办件趋势"});
  Charts.lines($("chart-wait"), labels, [
    {name: "平均等候", color: "#0b4a8b", values: r.periods.map((p) => p.wait_mean_s === null ? null : p.wait_mean_s / 60)},
    {name: "P90 等候", color: "#e0b000", values: r.periods.map((p) => p.wait_p90_s === null ? null : p.wait_p90_s / 60)},
    {name: "平均办理", color: "#7b1fa2", values: r.periods.map((p) => p.service_mean_s === null ? null : p.service_mean_s / 60)},
  ], {kind: "minutes", file: "等候与办理时长"});
  Charts.lines($("chart-rates"), labels, [
    {name: "当场办结率", color: "#2e7d32", values: r.periods.map((p) => p.on_the_spot_rate)},
    {name: "只跑一次率", color: "#0b4a8b", values: r.periods.map((p) => p.one_visit_rate)},
    {name: "满意度", color: "#e0b000", values: r.periods.map((p) => p.satisfaction)},
  ], {kind: "rate", file: "当场办结率、只跑一次率与满意度"});
  Charts.heatmap($("chart-heat"), r.heatmap.weekdays, r.heatmap.hours, r.heatmap.counts);
}

function drawWindows(r) {
  const g = r.groups;
  if (!g.length) { $("chart-windows").replaceChildren(el("p", {class: "muted"}, "该时段没有窗口数据")); return; }
  Charts.bars($("chart-windows"), g.map((x) => x.label), [
    {name: "已办件数", color: "#0b4a8b", values: g.map((x) => x.served)},
    {name: "平均等候（分钟）", color: "#e0b000", kind: "minutes",
     values: g.map((x) => x.wait_mean_s === null ? null : Math.round(x.wait_mean_s / 6) / 10)},
    {name: "空岗（分钟）", color: "#b3261e", kind: "minutes", values: g.map((x) => x.empty_minutes)},
  ]);
}

const COLS = [["issued", "取号", num], ["served", "已办", num], ["no_show_rate", "过号率", pct],
              ["wait_mean_s", "平均等候", mins], ["wait_p90_s", "P90等候", mins], ["service_mean_s", "平均办理", mins],
              ["on_the_spot_rate", "当场办结率", pct], ["immediate_handled_share", "即办件比率", pct],
              ["deferred", "容缺受理", num], ["one_visit_rate", "只跑一次率", pct], ["satisfaction", "满意度", pct],
              ["covers", "顶岗", num], ["empty_minutes", "空岗分钟", num]];

function drawTable(r) {
  const head = el("tr", {}, el("th", {}, "分组"), COLS.map(([, label]) => el("th", {class: "num"}, label)));
  const rows = r.groups.concat([{label: "合计", ...r.totals}]).map((g) =>
    el("tr", {}, el("td", {}, g.label), COLS.map(([k, , f]) => el("td", {class: "num"}, f(g[k])))));
  $("table").replaceChildren(el("thead", {}, head), el("tbody", {}, rows));
}

// 回访 (002 §11.2.3): per month the cases were completed in, and per department.
const CB_COLS = [["sampled", "抽样", num], ["reached", "已联系上", num], ["reach_rate", "联系率", pct],
                 ["satisfied_rate", "满意占比", pct], ["pending", "待回访", num]];

function drawCallbacks(cb) {
  const table = (id, first, rows, label) => {
    const head = el("tr", {}, el("th", {}, first), CB_COLS.map(([, l]) => el("th", {class: "num"}, l)));
    const body = rows.length ? rows.concat([{[label]: "合计", ...cb.totals}]).map((g) =>
      el("tr", {}, el("td", {}, g[label]), CB_COLS.map(([k, , f]) => el("td", {class: "num"}, f(g[k])))))
      : [el("tr", {}, el("td", {colspan: CB_COLS.length + 1, class: "muted"}, "该时段没有抽样回访的件"))];
    $(id).replaceChildren(el("thead", {}, head), el("tbody", {}, body));
  };
  table("callbacks-months", "办结月份", cb.months, "month");
  table("callbacks-departments", "部门", cb.departments, "department");
}

async function load() {
  $("error").hidden = true;
  const base = `/api/v1/halls/${page.hall_id}/statistics`;
  const by = form.by.value;
  try {
    const [hall, windows] = await Promise.all([api("GET", `${base}?${query("hall")}`),
                                               api("GET", `${base}?${query("window")}`)]);
    const table = by === "hall" ? hall : by === "window" ? windows : await api("GET", `${base}?${query(by)}`);
    drawTiles(hall); drawTrends(hall); drawWindows(windows); drawTable(table); drawCallbacks(hall.callbacks);
    $("csv").href = `${base}.csv?${query(by)}`;
    $("range").textContent = `${hall.from} 至 ${hall.to}（${page.timezones[hall.hall.timezone] || "时区 " + hall.hall.timezone}，服务日以 ${hall.hall.day_boundary} 为界）`;
    document.body.dataset.loaded = "1";
  } catch (e) {
    $("error").textContent = "统计加载失败：" + e.message;
    $("error").hidden = false;
    document.body.dataset.loaded = "error";
  }
}

form.addEventListener("submit", (ev) => { ev.preventDefault(); history.replaceState(null, "", "?" + query(form.by.value)); load(); });
const params = new URLSearchParams(location.search);
const to = params.get("to") || page.today;
const from = params.get("from") || new Date(Date.parse(to) - 29 * 86400000).toISOString().slice(0, 10);
form.from.value = from; form.to.value = to;
form.group.value = params.get("group") || "day";
form.by.value = params.get("by") || "window";
load();
