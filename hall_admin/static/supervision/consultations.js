/* 咨询登记 (000 §7; 002 §9.1): log a question, answer pending ones, read 咨询回复率 / 及时率. */
import { api } from "/static/ov/api.js";
import { $, el, pageData, toast } from "/static/ov/dom.js";

const page = pageData();
const base = `/api/v1/halls/${page.hall_id}`;
const ERRORS = {contact_required: "未当场答复的电话、信函咨询请填写联系方式。", bad_due_date: "承诺答复日期不能早于今天。",
                already_answered: "该咨询已答复。", validation_error: "请填写咨询问题（至少2个字）。"};
const say = (e) => ERRORS[e.code] || e.message || "保存失败，请稍后重试。";
// The reply dialog's only field is the answer: its refusal is about the answer, not the question.
const sayReply = (e) => (e.code === "validation_error" ? "请填写答复内容（至少2个字）。" : say(e));

/** Run ``save`` with ``button`` greyed out: a double click must not log one question twice. */
async function once(button, save) {
  if (button.disabled) return;
  button.disabled = true;
  try { await save(); } finally { button.disabled = false; }
}
const pct = (v) => (v === null || v === undefined ? "—" : `${(v * 100).toFixed(1)}%`);
let replying = null;

const form = $("ask-form");
form.addEventListener("change", () => {
  const later = form.mode.value === "later";
  $("answer-now").hidden = later;
  $("answer-later").hidden = !later;
});
$("due").min = page.today;

form.addEventListener("submit", (ev) => {
  ev.preventDefault();
  once($("ask-submit"), ask);
});
async function ask() {
  const body = {channel: form.channel.value, question: form.question.value.trim(),
                asker: form.asker.value.trim(), contact: form.contact.value.trim()};
  if (form.item_id.value) body.item_id = Number(form.item_id.value);
  if (form.mode.value === "now") {
    body.answer = form.answer.value.trim();
    if (!body.answer) { showError("ask-error", "请填写答复内容，或选择“稍后答复”。"); return; }
  } else if (form.due_on.value) body.due_on = form.due_on.value;
  try {
    const c = await api("POST", `${base}/consultations`, body);
    form.reset(); form.dispatchEvent(new Event("change"));
    $("ask-error").hidden = true;
    toast(c.status === "answered" ? "已登记并答复" : `已登记，请于 ${c.due_on} 前答复`);
    refresh();
  } catch (e) { showError("ask-error", say(e)); }
}

function showError(id, text) { $(id).textContent = text; $(id).hidden = false; }

function pendingRow(c) {
  return el("tr", {"data-id": c.id, class: c.overdue ? "overdue-row" : ""},
    el("td", {class: c.overdue ? "overdue" : ""}, c.due_on, c.overdue ? "（已超期）" : ""),
    el("td", {}, c.channel_label, c.number ? el("div", {class: "muted"}, c.number) : null),
    el("td", {class: "sv-clip"}, c.question, c.item ? el("div", {class: "muted"}, c.item) : null),
    el("td", {}, c.asker || "—", c.contact ? el("div", {class: "muted"}, c.contact) : null),
    el("td", {}, c.received_local, el("div", {class: "muted"}, c.received_by)),
    el("td", {}, el("button", {type: "button", class: "secondary", onclick: () => openReply(c)}, "答复")));
}

function answeredRow(c) {
  return el("tr", {"data-id": c.id},
    el("td", {}, c.answered_local), el("td", {}, c.channel_label), el("td", {class: "sv-clip"}, c.question),
    el("td", {class: "sv-clip"}, c.answer), el("td", {}, c.answered_by || "—"),
    el("td", {class: c.overdue ? "overdue" : ""},
       c.on_the_spot ? "当场" : c.reply_minutes < 60 ? `${c.reply_minutes} 分钟` : c.reply_hours < 48 ? `${c.reply_hours} 小时`
         : `${Math.round(c.reply_hours / 24)} 天`,
       c.overdue ? "（超期）" : ""));
}

async function refresh() {
  const [pending, done] = await Promise.all([api("GET", `${base}/consultations?status=pending`),
                                             api("GET", `${base}/consultations?status=answered`)]);
  $("pending").querySelector("tbody").replaceChildren(...pending.items.map(pendingRow));
  $("pending-empty").hidden = pending.items.length > 0;
  $("pending-count").textContent = String(pending.items.length);
  $("answered").querySelector("tbody").replaceChildren(...done.items.slice(0, 30).map(answeredRow));
  if (page.manager) loadRates();
}

function openReply(c) {
  replying = c;
  $("reply-question").textContent = c.question;
  $("reply-text").value = "";
  $("reply-error").hidden = true;
  $("reply-dialog").showModal();
}
$("reply-cancel").addEventListener("click", () => $("reply-dialog").close());
$("reply-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  once($("reply-submit"), async () => {
    try {
      await api("POST", `/api/v1/consultations/${replying.id}/answer`, {answer: $("reply-text").value.trim()});
      $("reply-dialog").close();
      toast("已答复");
      refresh();
    } catch (e) { showError("reply-error", sayReply(e)); }
  });
});

async function loadRates() {
  const r = await api("GET", `${base}/consultation-indicators?from=${$("r-from").value}&to=${$("r-to").value}`);
  const counts = {reply_rate: `${r.counts.answered} / ${r.counts.received}`,
                  on_time_rate: `${r.counts.answered_on_time} / ${r.counts.due_or_answered}`};
  $("rates").querySelector("tbody").replaceChildren(...r.indicators.map((i) => el("tr", {"data-key": i.key},
    el("td", {}, i.label), el("td", {class: "num"}, pct(i.value)), el("td", {class: "num"}, counts[i.key]),
    el("td", {class: "muted"}, i.definition))));
}
if (page.manager) {
  $("r-from").value = page.today.slice(0, 8) + "01";
  $("r-to").value = page.today;
  $("rate-form").addEventListener("submit", (ev) => { ev.preventDefault(); loadRates(); });
}
refresh().catch(() => toast("加载失败，请刷新页面", "error"));
