/* 办件: a department's inbox and the case's steps (000 §9.4–§9.7; 001 §7.2–§7.3). Every step is an API call. */
import { api } from "/static/ov/api.js";
import { $, el, pageData, toast } from "/static/ov/dom.js";
import { hallDateTime } from "/static/ov/time.js";

const page = pageData();
// Answers of the API by error code, said in Chinese (the API's own messages are for integrators).
const ERRORS = {
  other_department: "该办件属于其他部门，不能办理。", illegal_transition: "办件当前状态不能进行此操作。",
  materials_required: "请填写需补正的材料。", days_required: "请填写特别程序所需工作日。",
  name_required: "请填写特别程序名称。", reason_required: "请填写原因。", materials_owed: "容缺材料尚未补齐，暂不能作出决定。",
  tracking_required: "邮寄送达需填写快递公司和运单号。", card_mismatch: "身份证与申请人不一致，不能领取。",
  id_required: "请刷领取人身份证。", bundle_parent: "一件事请对其中的各事项分别办理。", forbidden: "无权进行此操作。",
  not_found: "未找到该办件。", invalid: "填写的内容不正确。",
};
// A step the API refused field by field (422 validation_error, "field: why" in English): that field's sentence,
// with the limits of cases_api.py's bodies.
const FIELDS = {
  id_number: "身份证号格式不正确，请刷卡或输入18位身份证号。", days: "特别程序所需工作日请填写 1 至 365 的整数。",
  name: "特别程序名称最多100字。", courier_company: "快递公司最多60字。", tracking_no: "运单号最多60字。",
  location: "存放位置最多60字。", note: "原因或说明最多1000字。", materials: "每项材料最多200字，最多50项。",
};
const fieldOf = (e) => (/^(\w+)[.:]/.exec(String(e.raw || "")) || [])[1];
const say = (e) => ERRORS[e.code] || (e.code === "validation_error" && FIELDS[fieldOf(e)])
  || (e.code === "network" ? e.message : "操作失败，请稍后重试。");
let current = null;
let pending = null;

const deptSel = $("dept");
for (const d of page.departments) deptSel.append(el("option", {value: d.id}, d.name));
if (page.department_id) { deptSel.value = page.department_id; if (page.role === "clerk") deptSel.disabled = true; }
else if (page.role === "clerk") deptSel.parentElement.hidden = true;  // the handover window: results to hand over

async function loadInbox() {
  const state = $("state-filter").value;
  let items;
  if (deptSel.value && (page.department_id || page.role !== "clerk")) {
    items = (await api("GET", `/api/v1/departments/${deptSel.value}/inbox`)).items;
    if (state) items = items.filter((c) => c.state === state);
  } else {
    items = (await api("GET", `/api/v1/halls/${page.hall_id}/cases?state=${state || "result_ready"}`)).items;
  }
  const body = $("inbox").querySelector("tbody");
  body.replaceChildren(...items.map((c) => el("tr", {"data-case": c.id, class: c.overdue ? "overdue" : "",
    onclick: () => open(c.id)},
    el("td", {}, c.acceptance_no), el("td", {}, c.title), el("td", {}, c.masked_name || "—"),
    el("td", {}, page.states[c.state] || ""), el("td", {}, c.due_on),
    el("td", {}, c.working_days_left === undefined || c.working_days_left === null ? "—" : c.overdue ? `已超期${-c.working_days_left}个工作日` : String(c.working_days_left)))));
  $("inbox-empty").hidden = items.length > 0;
}

// Case events the outbox gave up on (the floor's 审批系统推送失败 alert): managers re-send them here.
async function loadWebhooks() {
  if (page.role === "clerk") return;
  const items = (await api("GET", `/api/v1/halls/${page.hall_id}/webhook-deliveries`)).items;
  $("webhooks").hidden = items.length === 0;
  $("wh-count").textContent = `${items.length} 条`;
  $("wh-list").querySelector("tbody").replaceChildren(...items.map((d) => el("tr", {"data-delivery": d.id},
    el("td", {}, d.acceptance_no), el("td", {}, d.title), el("td", {}, d.state_label), el("td", {}, String(d.attempts)),
    el("td", {}, el("button", {type: "button", class: "small secondary", onclick: () => resend([d.id])}, "重新推送")))));
}
async function resend(ids) {
  try {
    const r = await api("POST", `/api/v1/halls/${page.hall_id}/webhook-deliveries/resend`, {ids});
    toast(`已重新推送 ${r.resent} 条`);
  } catch (e) { toast(say(e), "error"); }
  loadWebhooks();
}
$("wh-all").addEventListener("click", () => resend([]));
loadWebhooks().catch(() => {});

// What each state lets this page do: [label, action path, what to ask].
const STEPS = {
  dispatched: [["接收办理", "take"]],
  in_review: [["要求补正", "request-supplement", "materials"], ["开始特别程序", "special-procedure/start", "procedure"],
              ["挂起", "suspend", "reason"], ["准予办理", "decide:approved"], ["不予批准", "decide:not_approved", "reason"]],
  supplement: [["补正材料已收到", "supplement-received"]],
  special_procedure: [["结束特别程序", "special-procedure/end"]],
  suspended: [["恢复办理", "resume"]],
  decided: [["结果已制作，通知领取", "result-ready", "location"]],
  result_ready: [["窗口领取（刷身份证）", "hand-over:pickup", "card"], ["邮寄送达", "hand-over:courier", "courier"]],
  handed_over: [["办结归档", "close"]],
};
const ASK = {
  materials: ["需补正的材料（多项用；分隔）"], reason: ["原因"], procedure: ["特别程序名称（如专家评审）", "所需工作日"],
  card: ["领取人身份证号（刷卡读取）"], courier: ["快递公司", "运单号"],
  location: ["结果存放位置（如出件柜A-03，出件窗口据此取件；可不填）"],
};

async function open(id) {
  current = await api("GET", `/api/v1/cases/${id}`);
  const c = current;
  $("detail").hidden = false;
  $("d-title").textContent = c.title;
  $("d-state").textContent = c.state_label;
  $("d-no").textContent = c.acceptance_no;
  $("d-name").textContent = c.masked_name || "—";
  $("d-id").textContent = c.masked_id || "—";
  $("d-due").textContent = c.due_on;
  const left = c.clock.working_days_left;
  $("d-clock").textContent = c.clock.running ? (left < 0 ? `（已超期${-left}个工作日）` : `（剩余${left}个工作日）`)
    : c.clock.stopped_since ? "（计时暂停中）" : "";
  const owed = c.deferred_materials.filter((m) => m.state === "owed");
  $("d-owed").replaceChildren(...(owed.length ? [el("p", {class: "banner"}, "容缺材料待补：",
    ...owed.map((m) => el("span", {class: "tag"}, `${m.name}（${m.due_on}前）`,
      el("button", {type: "button", class: "small", "data-supply": m.id, onclick: () => supply(m.id)}, "已补交"))))] : []));
  const steps = c.children && c.children.length && !["dispatched", "result_ready", "handed_over"].includes(c.state) ? []
    : (STEPS[c.state] || []);
  $("d-actions").replaceChildren(...steps.map(([label, path, ask]) =>
    el("button", {type: "button", "data-step": path, onclick: () => step(path, ask)}, label)));
  $("d-docs").replaceChildren(...c.documents.map((d) => el("li", {},
    el("a", {href: `/api/v1/case-documents/${d.id}.pdf`, target: "_blank"}, `${d.title}（${d.number}）`))));
  $("d-scans").replaceChildren(...c.scans.map((a) => el("li", {}, `扫描件第${a.position}页`)),
    ...(c.supplied_pages || []).map((p) => el("li", {}, el("a", {href: p.url, target: "_blank", "data-supplied-page": p.id},
      `自助机补交：${p.material}（第${p.position}页）`))));
  $("d-events").replaceChildren(...c.events.map((e) => el("li", {},
    `${hallDateTime(e.at, page.timezone)} ${page.states[e.to_state] || ""}${e.note ? "：" + e.note : ""}`)));
  $("d-form").hidden = true; $("d-error").hidden = true;
}

function step(path, ask) {
  if (!ask) return send(path, {});
  pending = [path, ask];
  const [a, b] = ASK[ask];
  $("d-form-label").textContent = a + (b ? "、" + b : "");
  $("d-input").value = ""; $("d-input2").value = ""; $("d-input2").hidden = !b;
  $("d-input").placeholder = a; $("d-input2").placeholder = b || "";
  $("d-form").hidden = false; $("d-input").focus();
}

let sending = false;
async function send(path, body) {
  if (sending) return;  // a double click would send the step twice and show the second one's refusal
  sending = true;
  const [p, arg] = path.split(":");
  if (p === "decide") body.decision = arg;
  if (p === "hand-over") body.method = arg;
  try {
    await api("POST", `/api/v1/cases/${current.id}/${p}`, body);
    toast("已办理");
    await open(current.id); await loadInbox();
  } catch (e) { $("d-error").textContent = say(e); $("d-error").hidden = false; }
  finally { sending = false; }
}

$("d-submit").addEventListener("click", () => {
  const [path, ask] = pending;
  const a = $("d-input").value.trim(), b = $("d-input2").value.trim();
  const body = {};
  if (ask === "materials") body.materials = a.split(/[;；]/).map((s) => s.trim()).filter(Boolean);
  if (ask === "reason") body.note = a;
  if (ask === "procedure") { body.name = a; body.days = Number(b) || 0; }
  if (ask === "card" && a) body.id_number = a;  // none swiped: the API's id_required, not a format error
  if (ask === "courier") { body.courier_company = a; body.tracking_no = b; }
  if (ask === "location") body.location = a;
  send(path, body);
});
$("d-cancel").addEventListener("click", () => { $("d-form").hidden = true; });

async function supply(id) {
  try { await api("POST", `/api/v1/deferred-materials/${id}/supply`, {via: "window"}); await open(current.id); }
  catch (e) { $("d-error").textContent = say(e); $("d-error").hidden = false; }
}

$("find-btn").addEventListener("click", async () => {
  const no = $("find-no").value.trim();
  if (!no) return;
  try {
    const items = (await api("GET", `/api/v1/halls/${page.hall_id}/cases?acceptance_no=${encodeURIComponent(no)}`)).items;
    if (items.length) await open(items[0].id); else toast("未找到该受理号的办件");
  } catch (e) { toast(say(e), "error"); }
});
deptSel.addEventListener("change", loadInbox);
$("state-filter").addEventListener("change", loadInbox);
loadInbox();
