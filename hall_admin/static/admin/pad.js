/* 评价器: after "finish" at this window, ask the visitor 1–5; for a bad rating ask why (003 §10.4).
   What counts as bad and the rectification term come from the vocabulary the page was rendered with. */
import { api } from "/static/ov/api.js";
import { $, pageData } from "/static/ov/dom.js";
import { live } from "/static/ov/live.js";

const page = pageData();
const token = new URLSearchParams(location.search).get("token") || "";
let current = null, score = null, backToIdle = null, sending = false;
// A pad whose link was replaced (a new one made on 好差评) or revoked: not the staff pages' "login expired".
const PAD_REVOKED = "评价器链接已失效，请告知窗口工作人员";
const VOCAB = page.vocabulary;
const isBad = (s) => s <= VOCAB.bad_rating_max;

function show(id) {
  for (const s of ["idle", "ask", "why", "thanks"]) $(s).hidden = s !== id;
  document.body.dataset.state = id;
}
function ask(ticket) {
  if (!ticket) return;
  current = ticket; score = null;
  $("ask-number").textContent = ticket.number;
  document.querySelectorAll("input[name=reason]").forEach((c) => { c.checked = false; });
  $("comment").value = "";
  $("ask-error").hidden = $("why-error").hidden = true;
  clearTimeout(backToIdle);
  backToIdle = setTimeout(() => show("idle"), 3 * 60 * 1000);
  show("ask");
}
async function prompt() {
  try {
    const r = await api("GET", `/api/v1/windows/${page.window_id}/rating-prompt`, undefined, {token});
    // A reconnect asks again: a visitor already rating this ticket keeps the reasons they ticked.
    const rating = current && r.ticket && r.ticket.id === current.id && document.body.dataset.state !== "idle";
    if (r.ticket && !rating) ask(r.ticket);
  } catch (e) { $("live-state").textContent = e.message; }
}
async function submit(reasons, comment) {
  if (sending) return;  // a second tap while the first rating is on its way
  sending = true;
  $("ask-error").hidden = $("why-error").hidden = true;
  try {
    await api("POST", `/api/v1/tickets/${current.id}/rating`, {score, reasons, comment}, {token});
    $("thanks-extra").textContent = isBad(score) ? `我们将在${VOCAB.rectify_working_days}个工作日内整改并回复您。` : "";
    show("thanks");
    clearTimeout(backToIdle);
    backToIdle = setTimeout(() => show("idle"), 8000);
  } catch (e) {
    if (e.code === "already_rated" || e.code === "not_ratable") { show("thanks"); return; }
    // Said where the visitor is looking: a good score is sent from the faces, a bad one from the reasons.
    const error = $(document.body.dataset.state === "why" ? "why-error" : "ask-error");
    error.textContent = e.status === 401 || e.status === 403 ? PAD_REVOKED : e.message;
    error.hidden = false;
  } finally {
    sending = false;
  }
}
document.querySelectorAll("#scores button").forEach((b) => b.addEventListener("click", () => {
  score = Number(b.dataset.score);
  if (isBad(score)) { $("why-error").hidden = true; show("why"); } else submit([], "");
}));
$("why-submit").addEventListener("click", () => {
  const reasons = [...document.querySelectorAll("input[name=reason]:checked")].map((c) => c.value);
  const comment = $("comment").value.trim();
  if (!reasons.length && !comment) { $("why-error").textContent = "请选择不满意的原因，或写下您的意见"; $("why-error").hidden = false; return; }
  submit(reasons, comment);
});

live({window: page.window_id}, {
  snapshot: () => prompt(),
  ticket_finished: (ev) => {
    const t = ev.ticket;
    if (t && t.status === "done" && t.window_id === page.window_id) ask({id: t.id, number: t.number, items: t.items});
  },
  ticket_called: () => { if (document.body.dataset.state === "thanks") show("idle"); },
  online: () => { $("live-state").textContent = ""; },
  offline: () => { $("live-state").textContent = "连接中断，正在重连…"; },
}, {token});
show("idle");
