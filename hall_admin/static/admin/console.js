/* 窗口叫号终端: one-key clerk actions over the JSON API; live updates from the window's Socket.IO room. */
import { api } from "/static/ov/api.js";
import { $, clearToast, el, pageData, toast } from "/static/ov/dom.js";
import { hallClock, since } from "/static/ov/time.js";
import { live } from "/static/ov/live.js";

const page = pageData();
const STATUS = {called: "已呼叫", serving: "办理中", waiting: "等候", done: "已办结"};
const PRIORITY = {ordinary: "普通", green: "绿色通道", appointment: "预约"};
let windowId = null, view = null, items = {}, queueStats = {}, socket = null, busy = false;
let lists = null, listsTimer = null, shownTicket = null;
// Reads of the window are numbered: one that left before this desk's own action came back is older than
// what the desk already knows, and rendering it would take the new ticket (and its message) off the screen.
let viewSeq = 0, freshFrom = 0;

async function boot() {
  const cat = await api("GET", `/api/v1/halls/${page.hall_id}/catalog`);
  for (const it of cat.items) items[it.id] = it;
  const me = await api("GET", "/api/v1/auth/me");
  windowId = me.window_id;
  if (windowId) openDesk(); else showPicker();
}

// ------------------------------------------------------------------ sign in
async function showPicker() {
  $("desk").hidden = true; $("pick").hidden = false;
  const res = await api("GET", `/api/v1/halls/${page.hall_id}/windows`);
  const body = $("pick-table").querySelector("tbody");
  body.replaceChildren();
  for (const w of res.items) {
    const post = w.a_clerk_id === page.staff_id ? "A岗" : w.b_clerk_id === page.staff_id ? "B岗" : "";
    if (page.role === "clerk" && !post) continue;
    const btn = el("button", {"data-window": w.id, onclick: () => signIn(w.id)}, "签到");
    if (!w.is_open || (w.clerk_id && w.clerk_id !== page.staff_id)) btn.disabled = true;
    body.append(el("tr", {}, el("td", {}, `${w.number}号`), el("td", {}, w.name), el("td", {}, post || "—"),
      el("td", {}, w.is_open ? (w.clerk_name || "空岗") : "已关闭"), el("td", {}, btn)));
  }
}

async function signIn(id) {
  try {
    await api("POST", `/api/v1/windows/${id}/sign-in`);
    windowId = id; openDesk();
  } catch (e) { toast(e.message, "error"); }
}

// ------------------------------------------------------------------ desk
function openDesk() {
  $("pick").hidden = true; $("desk").hidden = false;
  refresh();
  loadOverdue();
  if (socket) socket.disconnect();
  // The window's room for its own calls; the hall's room for the queue lengths.
  socket = live([{window: windowId}, {hall: page.hall_id}], {
    // The join snapshot may predate the desk's own last action: read the window afresh instead.
    snapshot: (snap) => { if (snap.window) refresh(); },
    ticket_called: refresh, ticket_recalled: refresh, ticket_started: refresh, ticket_finished: refresh,
    ticket_transferred: refresh, window_status: refresh, post_covered: refresh, post_uncovered: refresh,
    post_restored: refresh,
    queue_stats: (ev) => { for (const q of ev.queues) queueStats[q.queue_id] = q; renderQueues(); loadListsSoon(); },
    ticket_issued: () => loadQueues(),
    error: (err) => toast(err.message, "error"),
    online: () => { $("live-state").textContent = "实时连接正常"; },
    offline: () => { $("live-state").textContent = "实时连接中断，正在重连…"; },
  });
}

async function refresh() {
  if (!windowId) return;
  const seq = ++viewSeq;
  try {
    const fresh = await api("GET", `/api/v1/windows/${windowId}`);
    if (seq < freshFrom) return;  // left before this desk's last action ended: stale
    view = fresh;
    render();
    loadQueues();
  } catch (e) { toast(e.message, "error"); }
}

async function loadQueues() {
  const snap = await api("GET", `/api/v1/halls/${page.hall_id}/snapshot`);
  queueStats = {};
  for (const q of snap.queues) queueStats[q.queue_id] = q;
  renderQueues();
  loadListsSoon();
}

// ------------------------------------------------------------------ waiting and no-show lists
// One fetch for a burst of hall events (tickets issued, calls at other windows).
function loadListsSoon() { clearTimeout(listsTimer); listsTimer = setTimeout(loadLists, 300); }
async function loadLists() {
  if (!windowId) return;
  try { lists = await api("GET", `/api/v1/windows/${windowId}/desk-lists`); } catch (e) { return; }
  renderLists();
}
const minutes = (s) => s == null ? "—" : s >= 3600 ? `${Math.floor(s / 3600)}小时${Math.floor(s % 3600 / 60)}分`
  : s < 60 ? "不足1分钟" : `${Math.round(s / 60)}分钟`;
const clock = (iso) => hallClock(iso, page.timezone);
function renderLists() {
  if (!lists) return;
  $("today-served").textContent = lists.today.served;
  $("today-avg").textContent = lists.today.avg_service_s == null ? "—" : minutes(lists.today.avg_service_s);
  const blocked = !!(view && (view.ticket || view.paused_at || view.status === "covered"));
  const who = (t) => [t.masked_name || "", t.bundle || t.items.join("、")].filter(Boolean).join(" · ");
  // The ticket just called leaves the list before the next fetch lands.
  const waiting = lists.waiting.filter((t) => !(view && view.ticket && view.ticket.id === t.id));
  $("waiting").querySelector("tbody").replaceChildren(...waiting.map((t) => el("tr", {"data-ticket": t.id},
    el("td", {}, el("span", {class: "num"}, t.number), " ",
      t.priority_class !== "ordinary" ? el("span", {class: "tag"}, PRIORITY[t.priority_class]) : null,
      t.transferred ? el("span", {class: "tag"}, "转办") : null),
    el("td", {"data-wait": t.wait_s}, minutes(since_s(t.issued_at))),
    el("td", {class: "muted"}, who(t)),
    el("td", {}, el("button", {type: "button", class: "secondary", "data-call": t.id, disabled: blocked,
      title: blocked ? "手上有在办号票或暂停服务时不能呼叫" : `呼叫 ${t.number}`, onclick: () => callTicket(t)}, "指定呼叫")))));
  $("waiting-none").hidden = waiting.length > 0;
  $("waiting-count").textContent = waiting.length;
  $("noshows").querySelector("tbody").replaceChildren(...lists.no_shows.map((t) => el("tr", {"data-ticket": t.id},
    el("td", {}, el("span", {class: "num"}, t.number)), el("td", {}, clock(t.closed_at)),
    el("td", {class: "muted"}, who(t)),
    el("td", {}, t.can_requeue
      ? el("button", {type: "button", class: "secondary", "data-requeue": t.id, onclick: () => requeue(t)}, "过号重排")
      : el("span", {class: "muted"}, "已重排过")))));
  $("noshows-none").hidden = lists.no_shows.length > 0;
  $("noshow-count").textContent = lists.no_shows.length;
}
const since_s = (iso) => Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 1000));
function showTab(name) {
  document.querySelectorAll(".desk-lists .tab").forEach((b) => {
    const on = b.dataset.tab === name;
    b.classList.toggle("active", on); b.setAttribute("aria-selected", on ? "true" : "false");
  });
  $("pane-waiting").hidden = name !== "waiting"; $("pane-noshows").hidden = name !== "noshows";
}
document.querySelectorAll(".desk-lists .tab").forEach((b) => b.addEventListener("click", () => showTab(b.dataset.tab)));
// 指定呼叫: the clerk names the visitor (e.g. one who came back to the desk); the server checks the queue.
const callTicket = (t) => act(async () => {
  const r = await api("POST", `/api/v1/windows/${windowId}/call/${t.id}`);
  settled(r.ticket);
  toast(`已指定呼叫 ${r.ticket.number}`);
});
// 过号重排: the late visitor goes back a few places behind the head (the hall's setting), once.
const requeue = (t) => act(async () => {
  await api("POST", `/api/v1/tickets/${t.id}/requeue`);
  toast(`${t.number} 已过号重排，将在前几位之后被呼叫`);
});

async function loadOverdue() {
  const res = await api("GET", `/api/v1/halls/${page.hall_id}/deferred-overdue?window_id=${windowId}`);
  const list = $("overdue");
  list.replaceChildren(...res.items.map((r) => el("li", {"data-ticket": r.ticket_id},
    `${r.number} ${r.masked_name || ""}：${r.material}（${r.due_date}到期，逾期${r.days_overdue}天）`)));
  $("overdue-none").hidden = res.items.length > 0;
}

function servedQueueIds() {
  const ids = new Set((view.queues || []).map((q) => q.id));
  return ids;
}

function renderQueues() {
  if (!view) return;
  const body = $("queues").querySelector("tbody");
  body.replaceChildren();
  const served = servedQueueIds();
  const covering = (view.covering || []).length > 0;
  for (const q of Object.values(queueStats)) {
    if (!served.has(q.queue_id) && !covering) continue;
    body.append(el("tr", {"data-queue": q.queue_id}, el("td", {}, `${q.prefix} ${q.name}`),
      el("td", {}, `${q.waiting}人`), el("td", {}, q.oldest_issued_at ? since(q.oldest_issued_at) : "—")));
  }
}

function render() {
  const w = view;
  // A message about the previous visitor must not stay up over the next one.
  const holding = w.ticket ? w.ticket.id : null;
  if (holding !== shownTicket) { clearToast(); shownTicket = holding; }
  $("desk-title").textContent = `${w.number}号窗口 · ${w.name}` + (w.clerk_post ? ` · ${w.clerk_post}岗` : "");
  const cover = $("cover-banner");
  if (w.covering && w.covering.length) {
    cover.hidden = false;
    cover.textContent = `您正在为${w.covering.map((c) => c.number).join("、")}号窗口顶岗，呼叫下一位将同时服务这些窗口的队列。`;
  } else cover.hidden = true;
  const state = $("state-banner");
  state.hidden = !(w.status === "paused" || w.status === "covered" || w.status === "closed");
  state.textContent = w.status === "paused" ? `暂停服务中：${w.pause_reason || ""}`
    : w.status === "covered" ? `本窗口由${w.covered_by_number}号窗口顶岗；恢复服务后回到本窗口。`
    : w.status === "closed" ? "本窗口已关闭。" : "";
  $("btn-pause").querySelector("span").textContent = w.paused_at ? "恢复服务" : "暂停服务";
  const t = w.ticket;
  $("ticket").hidden = !t; $("ticket-empty").hidden = !!t;
  const has = !!t;
  // With a ticket in hand, 下一位 finishes it and calls the next in one step (the finish dialog first).
  $("btn-call").disabled = !!w.paused_at || w.status === "covered";
  $("btn-recall").disabled = !(t && t.status === "called");
  $("btn-noshow").disabled = !(t && t.status === "called");
  $("btn-start").disabled = !(t && t.status === "called");
  $("btn-finish").disabled = !has;
  $("btn-transfer").disabled = !has;
  $("btn-reveal").disabled = !(t && t.masked_id);
  $("btn-signout").disabled = has;
  $("btn-pause").disabled = has;
  if (t) renderTicket(t);
  renderQueues();
  renderLists();
}

function renderTicket(t) {
  if ($("t-number").textContent !== t.number) { $("t-id-revealed").hidden = true; $("t-id-revealed").textContent = ""; }
  $("t-number").textContent = t.number;
  $("t-status").textContent = STATUS[t.status] || t.status;
  $("t-priority").textContent = PRIORITY[t.priority_class] || t.priority_class;
  $("t-since").textContent = t.called_at ? `已呼叫 ${since(t.called_at)}` : "";
  // The visitor's wait so far: from taking the ticket to the call (a transfer keeps the original time).
  $("t-waited").textContent = t.issued_at ? `已等候 ${since(t.issued_at, t.called_at ? Date.parse(t.called_at) : Date.now())}` : "";
  $("t-reason").textContent = t.call_reason || "—";
  $("t-name").textContent = t.masked_name || "（未登记）";
  $("t-id").textContent = t.masked_id || "（未登记）";
  $("t-transfer").hidden = !t.transferred_from_id;
  $("t-transfer").textContent = t.transferred_from_id ? "转办而来的号票（保留原取号时间）" : "";
  loadPages(t);
  loadPickup(t);
  // One merged list of the matter (a bundle's shared materials once), under the bundle's name.
  const names = t.item_ids.map((id) => items[id] && items[id].name).filter(Boolean);
  const head = t.bundle ? el("h3", {class: "materials-head", id: "t-materials-head"}, `${t.bundle}：所需材料`,
    el("span", {class: "muted materials-for"}, `（含${names.join("、")}，共同材料只需一份）`))
    : el("h3", {class: "materials-head", id: "t-materials-head"}, `${names.join("、")}：所需材料`);
  $("t-items").replaceChildren(head, el("ul", {id: "t-materials"}, (t.materials || []).map((m) => el("li", {},
    `${m.name}（${formLabel(m.form)}${m.count > 1 ? " ×" + m.count : ""}）`,
    m.required === false ? el("span", {class: "tag"}, "非必需") : null,
    m.deferrable ? el("span", {class: "tag"}, "可后补") : null))));
}
// Pages the visitor scanned at the kiosk, fetched as the signed-in clerk (session cookie).
let pages = [], pagesOf = null, pageAt = 0;
async function loadPages(t) {
  if (pagesOf === t.id) return;
  pagesOf = t.id; pages = [];
  $("t-pages").hidden = true; $("t-thumbs").replaceChildren();
  try {
    const res = await api("GET", `/api/v1/tickets/${t.id}/attachments`);
    if (pagesOf !== t.id) return;
    pages = res.items || [];
  } catch (e) { pages = []; }
  $("t-pages").hidden = pages.length === 0;
  $("t-pages-count").textContent = `${pages.length} 页`;
  $("t-thumbs").replaceChildren(...pages.map((p, i) => el("button", {type: "button", class: "thumb", "data-page": i,
    title: `第 ${i + 1} 页`, onclick: () => showPage(i)}, el("img", {src: p.url, alt: `第 ${i + 1} 页`, loading: "lazy"}),
    el("span", {}, `第 ${i + 1} 页`))));
}
function showPage(i) {
  pageAt = Math.max(0, Math.min(pages.length - 1, i));
  $("pv-img").src = pages[pageAt].url;
  $("pv-title").textContent = `第 ${pageAt + 1} / ${pages.length} 页`;
  $("pv-prev").disabled = pageAt === 0; $("pv-next").disabled = pageAt === pages.length - 1;
  if (!$("page-dlg").open) $("page-dlg").showModal();
}
// ------------------------------------------------------------------ handover (统一出件, 001 §7.3)
// A handover ticket brings the visitor's ready results: list them, check the collector's ID card against
// each case (the server compares; a mismatch hands nothing over), record the sign-off or the courier.
const HANDOVER_ERRORS = {
  card_mismatch: "身份证与申请人不一致，不能交付。请核对领取人身份。", id_required: "请先刷领取人身份证或输入证件号。",
  validation_error: "证件号格式不正确，请重新刷卡或输入18位身份证号。", tracking_required: "邮寄送达需填写快递公司和运单号。",
  not_on_ticket: "该办件不属于本号票。", ticket_not_in_hand: "本号票已不在手上，不能交付。",
  other_window: "该号票在其他窗口办理。", illegal_transition: "该办件当前不能交付（可能已交付）。",
};
let pickup = [], pickupOf = null;
const unhandedOk = () => {
  const left = pickupOf === (ticket() && ticket().id) ? pickup.filter((c) => c.state === "result_ready").length : 0;
  return !left || confirm(`本号还有 ${left} 件办理结果未交付，确定办结？`);
};
async function loadPickup(t, force = false) {
  if (pickupOf === t.id && !force) return;
  if (pickupOf !== t.id) { $("h-id").value = ""; $("h-error").hidden = true; }
  pickupOf = t.id;
  try {
    const res = await api("GET", `/api/v1/tickets/${t.id}/pickup-cases`);
    if (pickupOf !== t.id) return;
    pickup = res.items || [];
  } catch (e) { pickup = []; }
  renderPickup();
}
function handoverText(c) {
  const h = c.handover;
  if (!h) return c.state_label;
  return h.method === "courier" ? `已邮寄（${h.courier_company} ${h.tracking_no}）` : (h.id_checked ? "已签收（身份证核验一致）" : "已签收");
}
function renderPickup() {
  const box = $("t-pickup");
  box.hidden = pickup.length === 0;
  if (!pickup.length) return;
  $("h-count").textContent = `${pickup.length} 件`;
  const rows = pickup.map((c) => {
    const ready = c.state === "result_ready";
    const cell = el("td", {class: "h-act"});
    if (ready) {
      const company = el("input", {type: "text", class: "h-company", placeholder: "快递公司", maxlength: 60, hidden: true});
      const tracking = el("input", {type: "text", class: "h-tracking", placeholder: "运单号", maxlength: 60, hidden: true});
      const send = el("button", {type: "button", class: "small secondary", "data-courier-confirm": c.id, hidden: true,
        onclick: () => handOver(c, {method: "courier", courier_company: company.value.trim(), tracking_no: tracking.value.trim()})},
        "确认邮寄");
      cell.append(
        el("button", {type: "button", class: "small", "data-pickup": c.id, onclick: () => {
          const id = $("h-id").value.trim().toUpperCase();
          if (!id) { pickupError("id_required"); $("h-id").focus(); return; }
          handOver(c, {method: "pickup", id_number: id});
        }}, "核验身份证并签收"), " ",
        el("button", {type: "button", class: "small secondary", "data-courier": c.id, onclick: () => {
          company.hidden = tracking.hidden = send.hidden = false; company.focus();
        }}, "改为邮寄"), company, tracking, send);
    } else cell.textContent = "—";
    const title = c.items && c.items.length ? `${c.title}（${c.items.join("、")}）` : c.title;
    return el("tr", {"data-case": c.id, class: ready ? "" : "done"}, el("td", {}, c.acceptance_no), el("td", {}, title),
      el("td", {}, c.masked_name || "—"), el("td", {}, c.location || "出件窗口"),
      el("td", {class: "h-state"}, handoverText(c)), cell);
  });
  $("h-cases").querySelector("tbody").replaceChildren(...rows);
  $("h-done").hidden = pickup.some((c) => c.state === "result_ready");
  if (!$("h-done").hidden) $("h-id").value = "";  // all handed over: the full ID number leaves the screen
}
function pickupError(code, fallback) {
  $("h-error").textContent = HANDOVER_ERRORS[code] || fallback || "交付失败，请稍后重试。";
  $("h-error").hidden = false;
}
async function handOver(c, body) {
  const t = ticket();
  if (!t || busy) return;
  busy = true;
  $("h-error").hidden = true;
  try {
    await api("POST", `/api/v1/cases/${c.id}/hand-over`, {...body, ticket_id: t.id});
    toast(body.method === "courier" ? `${c.acceptance_no} 已登记邮寄` : `${c.acceptance_no} 已签收`);
  } catch (e) {
    pickupError(e.code, e.message);  // the row keeps what was typed, to correct it
    if (e.code !== "illegal_transition") return;
  } finally { busy = false; }
  await loadPickup(t, true);
}
// A desk card reader types the number and Enter, like a keyboard: Enter signs off every result still waiting.
$("h-id").addEventListener("keydown", async (e) => {
  if (e.key !== "Enter") return;
  e.preventDefault();
  const waiting = pickup.filter((c) => c.state === "result_ready");
  for (const c of waiting) {
    await handOver(c, {method: "pickup", id_number: $("h-id").value.trim().toUpperCase()});
    if (!$("h-error").hidden) break;
  }
});

$("pv-prev").addEventListener("click", () => showPage(pageAt - 1));
$("pv-next").addEventListener("click", () => showPage(pageAt + 1));
const formLabel = (f) => ({original: "原件", copy: "复印件", original_and_copy: "原件及复印件"}[f] || f || "");

// ------------------------------------------------------------------ actions
async function act(fn) {
  if (busy) return;
  busy = true;
  clearToast();
  try { await fn(); } catch (e) { toast(e.message, "error"); } finally { freshFrom = viewSeq + 1; busy = false; refresh(); }
}
const ticket = () => view && view.ticket;
// This desk's own action changed the ticket in hand: its toast speaks of the new state and stays.
const settled = (t) => { shownTicket = t ? t.id : null; freshFrom = viewSeq + 1; };

const actions = {
  call: () => ticket() ? openFinish(true) : act(async () => {
    const r = await api("POST", `/api/v1/windows/${windowId}/call-next`);
    settled(r.ticket);
    toast(r.ticket ? `已呼叫 ${r.ticket.number}` : "当前没有等候的号票");
  }),
  // Recall and no-show change nothing else on the desk: say that they happened.
  recall: () => ticket() && act(async () => {
    const t = ticket();
    const r = await api("POST", `/api/v1/tickets/${t.id}/recall`);
    // 过号 may follow at once, before the refresh lands — on the ticket shown now too: a view read before the
    // recall may have replaced the one this press began with while it was under way.
    for (const shown of [t, ticket()]) if (shown && shown.id === t.id) shown.recall_count = r.recall_count;
    toast(`已重呼 ${t.number}`);
  }),
  noshow: () => ticket() && askNoShow(),
  start: () => ticket() && act(() => api("POST", `/api/v1/tickets/${ticket().id}/start`)),
  finish: () => ticket() && unhandedOk() && openFinish(),
  transfer: () => ticket() && openTransfer(),
  pause: () => view && (view.paused_at ? act(() => api("POST", `/api/v1/windows/${windowId}/resume`))
                                       : openDialog("pause-dlg")),
  reveal: () => ticket() && act(async () => {
    if (!confirm("查看完整证件号将被记录在审计日志中，确定查看？")) return;
    const r = await api("POST", `/api/v1/tickets/${ticket().id}/reveal-identity`);
    $("t-id-revealed").textContent = `完整证件号：${r.id_number}`;
    $("t-id-revealed").hidden = false;
  }),
  signout: () => act(async () => {
    if (!confirm("确定签退？本窗口将由B岗顶岗或报空岗。")) return;
    await api("POST", `/api/v1/windows/${windowId}/sign-out`);
    windowId = null; view = null;
    if (socket) socket.disconnect();
    showPicker();
  }),
};

// 过号 only after one recall or the hall's minimum time since the call, and only once confirmed.
function noShowWait(t) {
  const min = lists ? lists.rules.no_show_min_s : 0;
  if (t.recall_count > 0 || !t.called_at) return 0;
  return Math.max(0, min - Math.floor((Date.now() - Date.parse(t.called_at)) / 1000));
}
function askNoShow() {
  const t = ticket();
  const left = noShowWait(t);
  if (left > 0) {
    toast(`请先重呼一次（F2），或呼叫满${Math.ceil(lists.rules.no_show_min_s / 60)}分钟后再标记过号（还需约${Math.ceil(left / 60)}分钟）。`, "error");
    return;
  }
  $("ns-text").textContent = `${t.number} 号已呼叫${t.recall_count ? `并重呼 ${t.recall_count} 次` : ` ${since(t.called_at)}`}，确认办事人未到场，标记为过号？`;
  openDialog("noshow-dlg");
}
$("ns-confirm").addEventListener("click", () => {
  const t = ticket();
  $("noshow-dlg").close();
  if (t) act(async () => {
    await api("POST", `/api/v1/tickets/${t.id}/no-show`);
    settled(null);
    toast(`${t.number} 已过号`);
  });
});

function openDialog(id) { const d = $(id); d.querySelectorAll(".error").forEach((e) => { e.hidden = true; }); d.showModal(); }

/** The ticket's merged materials list, as the server merged it (and the slip printed it). */
function materialsOfTicket() {
  return ticket().materials || [];
}

let finishAndNext = false;
function openFinish(andNext = false) {
  const t = ticket();
  finishAndNext = andNext;
  $("f-submit").textContent = andNext ? "办结并呼叫下一位" : "确认办结";
  $("f-number").textContent = t.number;
  $("f-note").value = ""; $("f-missing-extra").value = "";
  const mats = materialsOfTicket();
  $("f-missing-list").replaceChildren(...mats.map((m, i) => el("label", {},
    el("input", {type: "checkbox", value: m.name, "data-missing": i}), " ", m.name)));
  const due = new Date(Date.now() + 7 * 864e5).toISOString().slice(0, 10);
  $("f-deferred-list").replaceChildren(...mats.filter((m) => m.deferrable || m.required !== false).map((m) =>
    el("tr", {}, el("td", {}, el("input", {type: "checkbox", value: m.name, "data-deferred": m.name})),
      el("td", {}, m.name), el("td", {}, el("input", {type: "date", value: due})),
      el("td", {}, el("input", {type: "text", value: "本人承诺在期限内补齐该材料，逾期未补按不予受理处理", maxlength: 1000})))));
  syncOutcome();
  openDialog("finish-dlg");
}
function syncOutcome() {
  const o = $("f-outcome").value;
  $("f-missing").hidden = o !== "notice";
  $("f-deferred").hidden = o !== "deferred";
}
$("f-outcome").addEventListener("change", syncOutcome);
let finishing = false;  // a double click on 确认办结 sends one finish
$("f-submit").addEventListener("click", async () => {
  if (finishing) return;
  finishing = true;
  try { await finish(); } finally { finishing = false; }
});
async function finish() {
  const t = ticket();
  const outcome = $("f-outcome").value;
  const body = {outcome};
  const note = $("f-note").value.trim();
  if (note) body.note = note;
  if (outcome === "notice") {
    body.missing_materials = [...$("f-missing-list").querySelectorAll("input:checked")].map((x) => x.value)
      .concat($("f-missing-extra").value.split(/[;；]/).map((s) => s.trim()).filter(Boolean));
  }
  if (outcome === "deferred") {
    body.deferred_materials = [...$("f-deferred-list").querySelectorAll("tr")]
      .filter((tr) => tr.querySelector("input[type=checkbox]").checked)
      .map((tr) => ({name: tr.querySelector("input[type=checkbox]").value,
                     due_date: tr.querySelector("input[type=date]").value,
                     promise: tr.querySelector("input[type=text]").value}));
  }
  try {
    const r = finishAndNext
      ? await api("POST", `/api/v1/windows/${windowId}/finish-and-call-next`, {...body, ticket_id: t.id})
      : await api("POST", `/api/v1/tickets/${t.id}/finish`, body);
    $("finish-dlg").close();
    settled(finishAndNext ? r.ticket : null);
    // The line below says what was finished; a message about the finished ticket (重呼次数已达上限) goes.
    if (finishAndNext) toast(r.ticket ? `已呼叫 ${r.ticket.number}` : "当前没有等候的号票"); else clearToast();
    const last = $("last-finished");
    last.hidden = false;
    last.replaceChildren(`${t.number} 已办结（${$("f-outcome").selectedOptions[0].textContent}）。`);
    if (outcome === "notice" || outcome === "deferred") {
      last.append(" ", el("a", {href: `/admin/notice/${t.id}`, target: "_blank", id: "print-notice"},
        outcome === "notice" ? "打印一次性告知书" : "打印容缺受理告知书"));
    }
    // 办件: the acceptance number and the numbered papers of each case this finish opened (002 §8.2.2).
    const finished = finishAndNext ? r.finished : r;
    for (const c of (finished && finished.cases) || []) {
      const line = el("div", {class: "case-receipt", "data-case": c.id},
        "受理号 ", el("strong", {}, c.acceptance_no), `（${c.title}，${c.state_label}，承诺办结日期 ${c.due_on}）`);
      for (const d of c.documents || []) {
        line.append(" ", el("a", {href: `/api/v1/case-documents/${d.id}.pdf`, target: "_blank",
          "data-doc": d.kind}, `打印${d.title}`));
        if (d.kind === "acceptance_notice") {
          line.append(" ", el("button", {type: "button", class: "small", "data-receipt": d.id,
            onclick: () => printReceipt(d.id)}, "打印受理小票"));
        }
      }
      last.append(line);
    }
    refresh(); loadOverdue();
  } catch (e) { $("f-error").textContent = e.message; $("f-error").hidden = false; }
}

async function printReceipt(docId) {
  try {
    await api("POST", `/api/v1/case-documents/${docId}/print`, {window_id: windowId});
    toast("受理小票已发送到窗口打印机");
  } catch (e) { toast(e.message); }
}

async function openTransfer() {
  const res = await api("GET", `/api/v1/halls/${page.hall_id}/windows`);
  $("x-window").replaceChildren(el("option", {value: ""}, "（不指定窗口）"),
    ...res.items.filter((w) => w.id !== windowId && w.is_open)
      .map((w) => el("option", {value: w.id}, `${w.number}号 ${w.name}`)));
  $("x-queue").value = ""; $("x-note").value = "";
  openDialog("transfer-dlg");
}
$("x-submit").addEventListener("click", async () => {
  const body = {};
  if ($("x-window").value) body.window_id = Number($("x-window").value);
  if ($("x-queue").value) body.queue_id = Number($("x-queue").value);
  // The API takes exactly one of the two; its refusal would only say 填写的内容不符合要求.
  const chosen = ("window_id" in body) + ("queue_id" in body);
  if (chosen !== 1) {
    $("x-error").textContent = chosen ? "请只选择一个：转到窗口，或转到队列" : "请选择转办到的窗口或队列";
    $("x-error").hidden = false;
    return;
  }
  if ($("x-note").value.trim()) body.note = $("x-note").value.trim();
  try {
    await api("POST", `/api/v1/tickets/${ticket().id}/transfer`, body);
    $("transfer-dlg").close(); settled(null); toast("已转办"); refresh();
  } catch (e) { $("x-error").textContent = e.message; $("x-error").hidden = false; }
});
$("p-submit").addEventListener("click", async () => {
  if (!$("p-reason").value.trim()) {  // not the API's 填写的内容有误
    $("p-error").textContent = "请填写暂停原因"; $("p-error").hidden = false; return;
  }
  try {
    await api("POST", `/api/v1/windows/${windowId}/pause`, {reason: $("p-reason").value});
    $("pause-dlg").close(); refresh();
  } catch (e) { $("p-error").textContent = e.message; $("p-error").hidden = false; }
});

document.querySelectorAll("#actions button").forEach((b) => b.addEventListener("click", () => actions[b.dataset.act]()));
document.addEventListener("keydown", (e) => {
  const b = document.querySelector(`#actions button[data-key="${e.key}"]`);
  if (!b || $("desk").hidden) return;
  e.preventDefault();  // F1 help, F5 reload: the console owns these keys
  if (document.querySelector("dialog[open]") || b.disabled) return;
  actions[b.dataset.act]();
});
setInterval(() => { if (view && view.ticket) $("t-since").textContent = `已呼叫 ${since(view.ticket.called_at)}`; renderQueues(); }, 1000);
setInterval(() => { if (lists) renderLists(); }, 30000);  // waits grow between events
boot().catch((e) => toast(e.message, "error"));
