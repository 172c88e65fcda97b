// Hall screen (综合屏): the call being made now, recent calls, waits per queue, covers, notices.
import { Announcer } from "./announcer.js";
import { connectScreen, pageToken, serverNow, startClock, syncClock } from "./live.js";

const body = document.body;
const hallId = Number(body.dataset.hallId);
const recentShown = Number(body.dataset.recent) || 6;
const $ = (id) => document.getElementById(id);

// `shown`: the call being announced (or, between calls of a burst, the last announced one). The big
// number, its caption and the voice always show this same call (issue 21 §2).
const state = { hall: null, windows: new Map(), queues: new Map(), recent: [], notices: [], shown: null };
const OPEN = new Set(["called", "serving"]);

const announcer = new Announcer({
  enabled: body.dataset.voice === "1",
  voiceUrl: body.dataset.voiceUrl,
  token: pageToken(),
  onStart: (e) => {
    state.shown = { ticket_id: e.ticket_id, number: e.number, window_number: e.window_number };
    renderNow();
    renderRecent();
    $("announce-text").textContent = e.text;
    $("announce-text").hidden = false;
    $("now").classList.add("flash");
  },
  onUpdate: (e) => {
    // No voice at all (espeak-ng missing, browser without zh-CN): the text itself must carry the call.
    $("announce-banner").textContent = e.text;
    $("announce-banner").hidden = e.method !== "text";
  },
  onEnd: (e, more) => {
    $("announce-text").hidden = true;
    $("announce-banner").hidden = true;
    $("now").classList.remove("flash");
    if (!more) { state.shown = null; renderNow(); renderRecent(); }
  },
});
window.onevisitAnnouncer = announcer;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function currentCall() {
  if (state.shown) return state.shown;
  // Nothing announced now: the newest open call that is not still waiting for its announcement.
  const pending = new Set(announcer.queue.map((e) => e.ticket_id));
  return state.recent.find((c) => OPEN.has(c.status) && !pending.has(c.ticket_id)) || null;
}

function renderNow() {
  const c = currentCall();
  $("now-number").textContent = c ? c.number : "";
  $("now-window").textContent = c ? `请到 ${c.window_number} 号窗口` : "请留意叫号";
  $("now").dataset.ticketId = c ? c.ticket_id : "";
  $("now").classList.toggle("idle", !c);
}

function renderRecent() {
  const c = currentCall();
  const rows = state.recent.filter((r) => !c || r.ticket_id !== c.ticket_id).slice(0, recentShown);
  const tbody = $("recent-rows");
  tbody.replaceChildren(...rows.map((r) => {
    const tr = el("tr", OPEN.has(r.status) ? "open" : "closed");
    tr.dataset.ticketId = r.ticket_id;
    tr.append(el("td", "num", r.number), el("td", "win", `${r.window_number} 号窗口`));
    return tr;
  }));
  fitRecent();
}

// Only whole rows: when a notice or cover line takes height, the oldest calls give way (issue 21 §7).
function fitRecent() {
  const panel = document.querySelector(".recent");
  const limit = panel.getBoundingClientRect().bottom - parseFloat(getComputedStyle(panel).paddingBottom);
  const rows = [...$("recent-rows").children];
  while (rows.length && rows[rows.length - 1].getBoundingClientRect().bottom > limit) rows.pop().remove();
}

function minutes(s) {
  return Math.max(1, Math.ceil(s / 60));
}

function renderQueues() {
  const cards = [...state.queues.values()].sort((a, b) => a.prefix.localeCompare(b.prefix)).map((q) => {
    const card = el("div", "queue-card");
    card.dataset.prefix = q.prefix;
    const head = el("div", "q-head");
    head.append(el("span", "q-prefix", q.prefix), el("span", "q-name", q.name));
    const waiting = el("div", "q-waiting");
    waiting.append(el("b", "q-count", String(q.waiting)), el("span", "", " 人等候"));
    // A queue nobody serves now gets no number: an estimate would be invented (issue 21 §8).
    const est = q.waiting > 0 && q.serving_windows === 0 ? el("div", "q-est none", "暂无窗口办理")
      : el("div", "q-est", q.waiting > 0 ? `约 ${minutes(q.estimated_wait_s || 0)} 分钟` : "无需等候");
    card.append(head, waiting, est);
    return card;
  });
  $("queues").replaceChildren(...cards);
}

function renderCovers() {
  const lines = [...state.windows.values()].filter((w) => w.is_open && w.covered_by_number)
    .sort((a, b) => a.number - b.number)
    .map((w) => el("span", "cover", `${w.number}号窗口由${w.covered_by_number}号窗口顶岗，请到${w.covered_by_number}号窗口办理`));
  $("covers").replaceChildren(...lines);
  $("covers").hidden = lines.length === 0;
}

function liveNotices() {
  const now = serverNow().getTime();
  return state.notices.filter((n) => !n.expires_at || Date.parse(n.expires_at) > now);
}

let shownNotices = "";
function renderNotices() {
  const list = liveNotices();
  const key = JSON.stringify(list.map((n) => [n.id, n.text]));
  if (key === shownNotices) return;
  shownNotices = key;
  const track = $("notices");
  track.replaceChildren(...list.map((n) => {
    const s = el("span", "notice", n.text);
    s.dataset.noticeId = n.id;
    return s;
  }));
  const chars = list.reduce((sum, n) => sum + n.text.length, 0);
  track.style.animationDuration = `${Math.max(15, chars * 0.35)}s`;
  $("notices-bar").hidden = list.length === 0;
}

function renderAll() {
  renderNow();
  renderQueues();
  renderCovers();
  renderNotices();
  renderRecent();   // last: it fits into what the cover line and the notices left
}

// A call made while this screen was cut off is still announced once it is back, if it is recent.
const MISSED_CALL_MS = 120000;

function onSnapshot(snap) {
  // The snapshot replaces everything: after a restart nothing from before may linger.
  const resync = state.hall !== null;
  const knownCalled = new Set(state.recent.filter((c) => c.status === "called").map((c) => c.ticket_id));
  syncClock(snap.server_time);
  state.hall = snap.hall;
  $("hall-name").textContent = snap.hall.name;
  state.windows = new Map(snap.windows.map((w) => [w.id, w]));
  state.queues = new Map(snap.queues.map((q) => [q.queue_id, q]));
  state.recent = snap.recent_calls.map((c) => ({ ...c }));
  state.notices = snap.notices || [];
  body.dataset.snapshots = String(Number(body.dataset.snapshots || 0) + 1);
  const calledNow = new Set(state.recent.filter((c) => c.status === "called").map((c) => c.ticket_id));
  announcer.retain((e) => calledNow.has(e.ticket_id));
  if (resync) {
    const now = serverNow().getTime();
    state.recent.filter((c) => c.status === "called" && !knownCalled.has(c.ticket_id)
      && now - Date.parse(c.called_at) < MISSED_CALL_MS).reverse()
      .forEach((c) => announcer.announce({ number: c.number, windowNumber: c.window_number, kind: "call",
        ticketId: c.ticket_id }));
  }
  renderAll();
}

function windowOf(id) {
  return state.windows.get(id) || { id, number: "?" };
}

function callEntry(ticket, win) {
  return { ticket_id: ticket.id, number: ticket.number, window_id: win.id, window_number: win.number,
    window_name: win.name, called_at: ticket.called_at, status: ticket.status };
}

function setStatus(ticketId, status) {
  const r = state.recent.find((c) => c.ticket_id === ticketId);
  if (r) r.status = status;
}

const handlers = {
  ticket_called({ ticket, window: win }) {
    state.recent = [callEntry(ticket, win), ...state.recent.filter((c) => c.ticket_id !== ticket.id)].slice(0, 10);
    announcer.announce({ number: ticket.number, windowNumber: win.number, kind: "call", ticketId: ticket.id });
  },
  ticket_recalled({ ticket, window: win }) {
    state.recent = [callEntry(ticket, win), ...state.recent.filter((c) => c.ticket_id !== ticket.id)].slice(0, 10);
    announcer.announce({ number: ticket.number, windowNumber: win.number, kind: "recall", ticketId: ticket.id });
  },
  ticket_started({ ticket }) { setStatus(ticket.id, ticket.status); },
  // A visitor already served, gone or sent elsewhere is not called any more.
  ticket_finished({ ticket }) {
    setStatus(ticket.id, ticket.status);
    announcer.retain((e) => e.ticket_id !== ticket.id);
  },
  ticket_transferred(p) {
    setStatus(p.from.id, p.from.status);
    announcer.retain((e) => e.ticket_id !== p.from.id);
  },
  window_status({ window: w }) {
    state.windows.set(w.id, { ...windowOf(w.id), ...w });
  },
  post_covered(p) {
    state.windows.set(p.window_id, { ...windowOf(p.window_id), covered_by_id: p.covered_by_id,
      covered_by_number: p.covered_by_number, status: "covered" });
  },
  post_uncovered(p) {
    state.windows.set(p.window_id, { ...windowOf(p.window_id), covered_by_id: null, covered_by_number: null, status: "empty" });
  },
  post_restored(p) {
    state.windows.set(p.window_id, { ...windowOf(p.window_id), covered_by_id: null, covered_by_number: null });
  },
  queue_stats({ queues }) {
    for (const q of queues || []) state.queues.set(q.queue_id, q);
  },
  notice_changed({ notices }) {
    state.notices = notices || [];
  },
};

function onEvent(name, payload) {
  const h = handlers[name];
  if (!h) return;
  h(payload);
  renderAll();
}

startClock(body.dataset.timezone || "Asia/Shanghai", { dateEl: $("date"), timeEl: $("time") });
setInterval(renderNotices, 5000);  // drop notices as they expire
connectScreen({ join: { hall: hallId }, onSnapshot, onEvent });
