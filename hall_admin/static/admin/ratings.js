/* 好差评 summary, 差评整改 cases (assign → fix → feedback → close) and rating-pad links. */
import { api } from "/static/ov/api.js";
import { $, el, pageData, toast } from "/static/ov/dom.js";

const page = pageData();
const STATUS = {open: "待指定", assigned: "整改中", fixed: "已整改", closed: "已办结", excluded: "申诉成立，不计入"};
const windows = Object.fromEntries(page.windows.map((w) => [w.id, w]));
let cases = [], current = null;

async function load() {
  const r = await api("GET", `/api/v1/halls/${page.hall_id}/ratings`);
  const s = r.by_score;
  $("summary").textContent = r.total ? `共${r.total}条：非常满意${s["5"]}、满意${s["4"]}、基本满意${s["3"]}、不满意${s["2"]}、非常不满意${s["1"]}；好评率${(r.good_rate * 100).toFixed(1)}%`
    : "暂无评价";
  const c = await api("GET", `/api/v1/halls/${page.hall_id}/rectifications${$("show-closed").checked ? "" : "?status=pending"}`);
  cases = c.items;
  $("cases").querySelector("tbody").replaceChildren(...cases.map((k) => el("tr", {"data-case": k.id},
    el("td", {}, `#${k.id}`), el("td", {}, `${k.ticket_number || ""} / ${k.window_number}号`),
    el("td", {}, `${k.rating.label}：${k.rating.reason_labels.join("、")}${k.rating.comment ? "；" + k.rating.comment : ""}`),
    el("td", {}, k.responsible_name || "—"),
    el("td", {class: k.overdue ? "overdue" : ""}, k.deadline.slice(0, 10) + (k.overdue ? "（已超期）" : "")),
    el("td", {"data-status": k.status}, STATUS[k.status]),
    el("td", {}, el("button", {class: "secondary", onclick: () => openCase(k)}, "处理")))),
    ...(cases.length ? [] : [el("tr", {}, el("td", {colspan: 7, class: "muted"},
      $("show-closed").checked ? "暂无差评整改" : "暂无待办的差评整改"))]));
}

function openCase(k) {
  current = k;
  $("d-title").textContent = `整改 #${k.id}（${STATUS[k.status]}）`;
  $("d-rating").textContent = `${k.rating.label}：${k.rating.reason_labels.join("、")} ${k.rating.comment || ""}`;
  if (k.responsible_clerk_id) $("d-clerk").value = k.responsible_clerk_id;
  $("d-deadline").value = k.deadline.slice(0, 10);
  $("d-plan").value = k.fix_plan; $("d-fix-text").value = k.fix; $("d-feedback-text").value = k.feedback;
  $("d-assign").hidden = !["open", "assigned"].includes(k.status);
  $("d-fix").hidden = !["assigned", "fixed"].includes(k.status);
  $("d-close-btn").hidden = k.status !== "fixed" || k.rater_answer === "not_satisfied";
  $("d-feedback").hidden = ["closed", "excluded"].includes(k.status);
  $("d-answer").hidden = !k.feedback_at || k.rater_answer !== null || k.status === "excluded";
  $("d-answered").textContent = k.rater_answer === "satisfied" ? "办事人对答复表示满意。"
    : k.rater_answer === "not_satisfied" ? `办事人对答复不满意，已重新整改（第${k.reopened}次），请再次整改并答复。` : "";
  $("d-appeal").hidden = ["closed", "excluded"].includes(k.status);
  $("d-error").hidden = true;
  if (!$("case-dlg").open) $("case-dlg").showModal();
}
// What an empty or wrong field of a step is, in this dialog's words: the API's own codes (fix_required,
// bad_deadline) are shared with 补正 and would say 请填写需要补正的内容 / 补正期限有误 here.
const EMPTY = {assign: "请填写整改要求。", fix: "请填写整改措施。", feedback: "请填写对办事人的反馈。", appeal: "请填写申诉理由。"};
const INPUT_CODES = ["validation_error", "invalid", "fix_required", "feedback_required", "reason_required"];
function said(what, e) {
  if (e.code === "bad_deadline") return "整改期限不能早于今天。";
  return INPUT_CODES.includes(e.code) ? EMPTY[what] : e.message;
}
// The dialog's error line sits under all its steps: on a 768-pixel screen an assigned case's dialog scrolls,
// and a refusal of 指定整改 (at its top) would be said below what the manager sees.
function refuse(text) {
  $("d-error").textContent = text; $("d-error").hidden = false;
  $("d-error").scrollIntoView({block: "nearest"});
}
async function step(path, body) {
  try {
    const k = await api("POST", `/api/v1/rectifications/${current.id}/${path}`, body);
    await load();
    const fresh = cases.find((x) => x.id === k.id);
    if (fresh) openCase(fresh); else $("case-dlg").close();
    toast("已保存");
  } catch (e) { refuse(said(path, e)); }
}
$("d-assign-btn").addEventListener("click", () => step("assign", {responsible_clerk_id: Number($("d-clerk").value),
  deadline: $("d-deadline").value || null, fix_plan: $("d-plan").value}));
$("d-fix-btn").addEventListener("click", () => step("fix", {fix: $("d-fix-text").value}));
$("d-feedback-btn").addEventListener("click", () => step("feedback", {feedback: $("d-feedback-text").value}));
$("d-close-btn").addEventListener("click", () => step("close"));
$("d-satisfied").addEventListener("click", () => step("rater-answer", {satisfied: true}));
$("d-not-satisfied").addEventListener("click", () => step("rater-answer", {satisfied: false}));
$("d-appeal-btn").addEventListener("click", async () => {
  try {
    await api("POST", `/api/v1/ratings/${current.rating.id}/appeal`, {kind: $("d-appeal-kind").value,
      reason: $("d-appeal-reason").value});
    $("case-dlg").close(); toast("申诉已提交，待复核"); await loadAppeals();
  } catch (e) { refuse(said("appeal", e)); }
});

// 申诉复核: pending appeals first; a decision needs its reason.
let appeal = null;
async function loadAppeals() {
  const r = await api("GET", `/api/v1/halls/${page.hall_id}/appeals`);
  $("appeals-empty").hidden = r.items.length > 0;
  $("appeals").querySelector("tbody").replaceChildren(...r.items.map((a) => el("tr", {"data-appeal": a.id},
    el("td", {}, `${a.rating.label}：${a.rating.reason_labels.join("、")}`), el("td", {}, a.kind_label),
    el("td", {}, a.reason), el("td", {"data-status": a.status}, a.status_label), el("td", {}, a.decision_reason || ""),
    el("td", {}, a.status === "pending" ? el("button", {class: "secondary", onclick: () => openAppeal(a)}, "复核") : ""))));
}
function openAppeal(a) {
  appeal = a;
  $("a-text").textContent = `${a.rating.label}：${a.rating.reason_labels.join("、")}。申诉（${a.kind_label}）：${a.reason}`;
  $("a-reason").value = ""; $("a-error").hidden = true;
  $("appeal-dlg").showModal();
}
async function decide(upheld) {
  try {
    await api("POST", `/api/v1/appeals/${appeal.id}/decide`, {upheld, reason: $("a-reason").value});
    $("appeal-dlg").close(); toast("复核结果已记录"); await Promise.all([loadAppeals(), load(), loadLoop()]);
  } catch (e) { $("a-error").textContent = e.code === "validation_failed" || e.status === 422 ? "请填写复核意见" : e.message; $("a-error").hidden = false; }
}
$("a-upheld").addEventListener("click", () => decide(true));
$("a-rejected").addEventListener("click", () => decide(false));

// 实名差评闭环 per month.
{
  const now = new Date();
  let y = now.getFullYear(), m = now.getMonth() + 1;
  for (let i = 0; i < 12; i++, m = m === 1 ? (y--, 12) : m - 1) {
    $("loop-month").append(el("option", {value: `${y}-${String(m).padStart(2, "0")}`}, `${y}年${m}月`));
  }
}
async function loadLoop() {
  const r = await api("GET", `/api/v1/halls/${page.hall_id}/rating-loop?month=${$("loop-month").value}`);
  const cell = (label, value) => el("div", {class: "stat"}, el("span", {class: "muted"}, label), el("strong", {}, value));
  $("loop").replaceChildren(cell("实名差评", `${r.real_name_bad} 条`), cell("已回访答复", `${r.called_back} 条`),
    cell("已整改", `${r.fixed} 条`), cell("按期答复", `${r.answered_on_time} 条`),
    cell("按期整改并答复", r.share === null ? "—" : `${(r.share * 100).toFixed(1)}%`),
    cell("重新整改", `${r.reopened} 条`), cell("申诉成立不计入", `${r.excluded_by_appeal} 条`));
}
$("loop-month").addEventListener("change", loadLoop);

// 好差评设置: the rectification term, the call-back rate, the provincial platform.
// A field the manager typed in before the saved settings came keeps what was typed (the first reading is slow on a
// busy server); after a save every field shows what was saved.
const SETTING_FIELDS = {"s-days": "rectify_working_days", "s-rate": "callback_rate_pct", "s-region": "region_code",
                        "s-url": "province_url"};
for (const id of Object.keys(SETTING_FIELDS)) $(id).addEventListener("input", () => { $(id).dataset.typed = "1"; });
async function loadSettings({all = false} = {}) {
  const r = await api("GET", `/api/v1/halls/${page.hall_id}/rating-settings`);
  for (const [id, key] of Object.entries(SETTING_FIELDS)) {
    if (all || !$(id).dataset.typed) $(id).value = r[key];
    delete $(id).dataset.typed;
  }
  $("s-secret-note").textContent = r.province_secret_set ? "已设置签名密钥；留空则保持不变。" : "尚未设置签名密钥。";
}
$("settings").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const body = {rectify_working_days: Number($("s-days").value), callback_rate_pct: Number($("s-rate").value),
    province_url: $("s-url").value.trim()};
  if ($("s-region").value) body.region_code = $("s-region").value;
  if ($("s-secret").value) body.province_secret = $("s-secret").value;
  try {
    await api("PUT", `/api/v1/halls/${page.hall_id}/rating-settings`, body);
    $("s-secret").value = ""; $("s-error").hidden = true; toast("设置已保存"); await loadSettings({all: true});
  } catch (e) {
    $("s-error").textContent = e.code === "province_incomplete" ? "上报平台需同时填写12位行政区划代码和签名密钥" : "设置有误，请检查后再保存";
    $("s-error").hidden = false;
  }
});
$("show-closed").addEventListener("change", load);
document.querySelectorAll("[data-pad]").forEach((b) => b.addEventListener("click", async () => {
  const w = windows[b.dataset.pad];
  if (!confirm(`为${w.number}号窗口生成新的评价器链接？旧链接将失效。`)) return;
  try {
    const r = await api("POST", `/api/v1/windows/${w.id}/pad-token`, {});
    $(`pad-url-${w.id}`).replaceChildren(el("a", {href: r.url, target: "_blank"}, r.url));
  } catch (e) { toast(e.message, "error"); }
}));
Promise.all([load(), loadAppeals(), loadLoop(), loadSettings()]).catch((e) => toast(e.message, "error"));
