/* 回访 (002 §11.2.3): the call-back list, recording each call, and the month's results for managers. */
import { api } from "/static/ov/api.js";
import { $, el, pageData, toast } from "/static/ov/dom.js";

const page = pageData();
let current = null;

const pct = (x) => (x === null || x === undefined ? "—" : `${(x * 100).toFixed(1)}%`);
async function loadStats() {
  if (!page.manager) return;
  const s = await api("GET", `/api/v1/halls/${page.hall_id}/callback-stats?month=${$("month").value}`);
  const cell = (label, value, cls = "") => el("div", {class: `stat ${cls}`}, el("span", {class: "muted"}, label), el("strong", {}, value));
  $("stats").replaceChildren(cell("抽样回访", `${s.sampled} 件`), cell("已回访", `${s.reached} 件`),
    cell("未联系上", `${s.not_reached} 件`), cell("待回访", `${s.pending} 件`),
    cell("超期未回访", `${s.overdue} 件`, s.overdue ? "overdue" : ""), cell("联系成功率", pct(s.reach_rate)),
    cell("平均满意度", s.satisfaction_avg === null ? "—" : `${s.satisfaction_avg} 分`), cell("满意率", pct(s.satisfied_rate)));
}

async function load() {
  const all = $("show-all").checked;
  const r = await api("GET", `/api/v1/halls/${page.hall_id}/callbacks${all ? "" : "?status=pending"}`);
  $("empty").hidden = r.items.length > 0;
  $("list").querySelector("tbody").replaceChildren(...r.items.map((c) => el("tr", {"data-callback": c.id},
    el("td", {}, c.acceptance_no), el("td", {}, c.item_name, c.bundle ? el("div", {class: "muted"}, `${c.bundle} · ${c.department || ""}`) : null),
    el("td", {}, c.masked_name || "—"),
    el("td", {}, c.completed_on), el("td", {class: c.overdue ? "overdue" : ""}, c.due_on + (c.overdue ? "（已超期）" : "")),
    el("td", {"data-status": c.status}, c.status_label), el("td", {}, c.satisfaction_label || "—"),
    el("td", {}, c.remarks || ""),
    el("td", {}, c.status === "reached" ? "" : el("button", {class: "secondary", onclick: () => open(c)}, "记录回访")))));
  await loadStats();
}

function open(c) {
  current = c;
  $("d-title").textContent = `回访 ${c.acceptance_no}`;
  $("d-case").textContent = `${c.item_name} · ${c.masked_name || ""} · ${c.completed_on} 办结，${c.due_on} 前回访`;
  $("d-phone").textContent = ""; $("d-remarks").value = c.remarks || ""; $("d-error").hidden = true;
  $("cb-dlg").showModal();
}
$("d-phone-btn").addEventListener("click", async () => {
  try { $("d-phone").textContent = (await api("POST", `/api/v1/callbacks/${current.id}/reveal-phone`)).phone; }
  catch (e) { $("d-error").textContent = e.message; $("d-error").hidden = false; }
});
$("d-save").addEventListener("click", async () => {
  const reached = document.querySelector("input[name=reached]:checked").value === "1";
  try {
    await api("POST", `/api/v1/callbacks/${current.id}/result`, {reached, satisfaction: reached ? Number($("d-score").value) : null,
      remarks: $("d-remarks").value});
    $("cb-dlg").close(); toast("已保存"); await load();
  } catch (e) { $("d-error").textContent = e.message; $("d-error").hidden = false; }
});
$("show-all").addEventListener("change", load);
if (page.manager) {
  // The last twelve months, as 2026年12月 (a month input would show the browser's own language).
  let [y, m] = page.month.split("-").map(Number);
  for (let i = 0; i < 12; i++, m = m === 1 ? (y--, 12) : m - 1) {
    $("month").append(el("option", {value: `${y}-${String(m).padStart(2, "0")}`}, `${y}年${m}月`));
  }
  $("month").addEventListener("change", loadStats);
  $("sample").addEventListener("click", async () => {
    const r = await api("POST", `/api/v1/halls/${page.hall_id}/callbacks/sample`);
    toast(r.added ? `新增 ${r.added} 件待回访` : "今日没有新的待回访办件"); await load();
  });
}
load();
