/* 电子监察 (004 §8.4): the chain check, violation indicators with drill-down (000 §12.3.5, 002 §11.3.5), the audit log. */
import { api } from "/static/ov/api.js";
import { $, el, pageData } from "/static/ov/dom.js";

const page = pageData();
const base = `/api/v1/halls/${page.hall_id}`;
let next = null;
let chosen = null;
let violations = null;

async function chain(full) {
  if (full) { $("chain").textContent = "正在完整校验全部操作记录，记录多时需要一些时间……"; $("chain").className = "chain"; }
  try {
    const r = await api("GET", `${base}/audit-chain${full ? "?full=1" : ""}`);
    $("chain").textContent = r.summary;
    $("chain").className = "chain " + (r.ok ? "ok" : "bad");
  } catch (e) {
    $("chain").textContent = "暂时无法校验操作记录，请稍后刷新。";
    $("chain").className = "chain bad";
  }
}

// The drill-down of each indicator: its columns, and how a row reads.
const auditLink = (row) => row.window_id
  ? el("button", {type: "button", class: "secondary", onclick: () => showLog({window_id: row.window_id, from: row.date || row.accepted_on})}, "查看该窗口操作记录")
  : "";
const COLUMNS = {
  empty_post: [["窗口", (r) => r.window], ["开始", (r) => r.from], ["结束", (r) => r.to || "仍空岗"],
               ["分钟", (r) => String(r.minutes)], ["", auditLink]],
  overdue_case: [["受理号", (r) => r.acceptance_no], ["事项", (r) => r.title], ["承办部门", (r) => r.department],
                 ["承诺办结", (r) => r.due_on], ["状态", (r) => r.running ? `${r.state}（仍在办理）` : `已于 ${r.decided_on} 作出决定`],
                 ["超期天数", (r) => String(r.days_late)]],
  result_not_handed_over: [["受理号", (r) => r.acceptance_no], ["事项", (r) => r.title], ["承办部门", (r) => r.department],
                           ["作出决定", (r) => r.decided_on], ["应送达", (r) => r.waiting_since], ["状态", (r) => r.state]],
  refusal: [["受理号", (r) => r.acceptance_no], ["事项", (r) => r.title], ["窗口", (r) => r.window],
            ["受理人", (r) => r.clerk || "—"], ["日期", (r) => r.accepted_on], ["不予受理理由", (r) => r.reason || "（未填写）"], ["", auditLink]],
};

function drill(key) {
  chosen = key;
  const ind = violations.indicators.find((i) => i.key === key);
  for (const b of $("vtiles").children) b.setAttribute("aria-pressed", String(b.dataset.key === key));
  $("drill").hidden = false;
  $("drill-h").textContent = `${ind.label}（${ind.count}）`;
  $("drill-def").textContent = ind.definition;
  const cols = COLUMNS[key];
  $("drill-table").querySelector("thead").replaceChildren(el("tr", {}, cols.map(([h]) => el("th", {}, h))));
  const rows = ind.items.map((r) => el("tr", {}, cols.map(([, f]) => el("td", {class: "sv-clip"}, f(r)))));
  $("drill-table").querySelector("tbody").replaceChildren(...(rows.length ? rows
    : [el("tr", {}, el("td", {colspan: cols.length, class: "muted"}, "期内没有此类情况。"))]));
}

async function loadViolations() {
  violations = await api("GET", `${base}/violations?from=${$("v-from").value}&to=${$("v-to").value}`);
  $("vtiles").replaceChildren(...violations.indicators.map((i) => el("button", {
    type: "button", class: "vtile" + (i.count ? " has" : ""), "data-key": i.key, "aria-pressed": "false",
    onclick: () => drill(i.key)},
    el("span", {class: "k"}, i.label), el("span", {class: "v"}, String(i.count)), el("span", {class: "d"}, i.definition))));
  if (chosen) drill(chosen);
}

function query() {
  const p = new URLSearchParams();
  for (const [k, id] of [["staff_id", "a-staff"], ["window_id", "a-window"], ["action", "a-action"],
                         ["from", "a-from"], ["to", "a-to"]]) if ($(id).value) p.set(k, $(id).value);
  return p;
}

function row(e) {
  return el("tr", {"data-id": e.id}, el("td", {}, e.local), el("td", {}, e.actor), el("td", {}, e.action_label),
    el("td", {}, e.window || "—"), el("td", {}, e.ticket || "—"), el("td", {class: "sv-clip"}, e.notes || ""),
    el("td", {}, e.sealed ? "已封存" : "待封存"));
}

async function loadLog(append) {
  const p = query();
  if (append && next) p.set("before", String(next));
  const r = await api("GET", `${base}/audit-log?${p}`);
  const body = $("log").querySelector("tbody");
  if (append) body.append(...r.items.map(row)); else body.replaceChildren(...r.items.map(row));
  next = r.next_before;
  $("more").hidden = !r.more;
  $("log-empty").hidden = body.children.length > 0;
}

function showLog(filter) {
  $("a-staff").value = ""; $("a-action").value = "";
  $("a-window").value = String(filter.window_id);
  $("a-from").value = filter.from || ""; $("a-to").value = filter.from || "";
  loadLog(false);
  $("log").scrollIntoView({behavior: "smooth"});
}

$("v-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  $("v-error").hidden = true;
  loadViolations().catch((e) => {
    $("v-error").textContent = e.status === 422 ? "日期范围有误：开始日期不能晚于结束日期，且一次最多查看400天。" : "违规情况加载失败，请稍后重试。";
    $("v-error").hidden = false;
  });
});
$("a-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  loadLog(false).catch(() => { $("log-empty").textContent = "查询条件有误，请检查日期。"; $("log-empty").hidden = false; });
});
$("a-clear").addEventListener("click", () => { $("a-form").reset(); loadLog(false); });
$("more").addEventListener("click", () => loadLog(true));
$("v-to").value = page.today;
$("v-from").value = page.today.slice(0, 8) + "01";
$("chain-full").addEventListener("click", () => chain(true));
chain(false);
loadViolations().catch(() => { $("vtiles").textContent = "违规情况加载失败，请稍后重试。"; });
loadLog(false).catch(() => { $("log-empty").textContent = "操作记录加载失败，请稍后重试。"; $("log-empty").hidden = false; });
