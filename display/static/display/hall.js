// Hall screen (综合屏): the call(s) being made now, every window's number or state, passed numbers (过号),
// waits per queue, covers, notices.
import { Announcer } from "./announcer.js";
import { connectScreen, pageToken, serverNow, startClock, syncClock } from "./live.js";
import { $ } from "/static/ov/dom.js";
import { applyMarkup, locale, nameOf, show, t } from "./strings.js";

const body = document.body;
const hallId = Number(body.dataset.hallId);

// `shown`: the call(s) being announced (or, between announcements of a burst, the last announced). The big
// number(s), the caption and the voice always show these same calls (issue 21 §2); at peak several calls
// merged into one announcement are shown large together.
const state = { hall: null, windows: new Map(), queues: new Map(), recent: [], missed: [], notices: [], shown: null };
const OPEN = new Set(["called", "serving"]);

const announcer = new Announcer({
  enabled: body.dataset.voice === "1",
  voiceUrl: body.dataset.voiceUrl,
  token: pageToken(),
  onStart: (e) => {
    state.shown = e.calls.map((c) => ({ ticket_id: c.ticket_id, number: c.number, window_number: c.window_number }));
    renderNow();
    // One call: its caption under the number. Several: each tile carries its own window.
    $("announce-text").textContent = e.calls.length === 1 ? e.text : "";
    $("announce-text").hidden = e.calls.length !== 1;
    $("now").classList.add("flash");
  },
  onUpdate: (e) => {
    // No voice at all (espeak-ng missing, browser without zh-CN): the text itself must carry the call.
    $("announce-banner").textContent = e.text;
    $("announce-banner").hidden = e.method !== "text";
  },
  // A merged announcement said with the server's voice: the tile of the call being said is lit, those said are dimmed.
  onClause: () => renderNow(),
  onEnd: (e, more) => {
    $("announce-text").hidden = true;
    $("announce-banner").hidden = true;
    $("now").classList.remove("flash");
    if (!more) { state.shown = null; renderNow(); }
  },
});
window.onevisitAnnouncer = announcer;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) show(e, text);
  return e;
}

function currentCalls() {
  if (state.shown) return state.shown;
  // Nothing announced now: the newest open call that is not still waiting for its announcement.
  const pending = new Set(announcer.queue.flatMap((e) => e.calls.map((c) => c.ticket_id)));
  const c = state.recent.find((r) => OPEN.has(r.status) && !pending.has(r.ticket_id));
  return c ? [c] : [];
}

function renderNow() {
  const calls = currentCalls();
  const many = calls.length > 1;
  const now = $("now");
  now.classList.toggle("idle", calls.length === 0);
  now.classList.toggle("multi", many);
  now.dataset.ticketId = calls.map((c) => c.ticket_id).join(",");
  $("now-number").textContent = !many && calls.length ? calls[0].number : "";
  show($("now-window"), many ? t("many_calls")
    : calls.length ? t("go_window", { w: calls[0].window_number }) : t("watch"));
  const grid = $("now-grid");
  grid.hidden = !many;
  grid.dataset.count = String(calls.length);
  grid.style.setProperty("--cols", String(calls.length <= 4 ? 2 : calls.length <= 9 ? 3 : 4));
  grid.style.setProperty("--rows", String(Math.ceil(calls.length / (calls.length <= 4 ? 2 : calls.length <= 9 ? 3 : 4))));
  const cur = announcer.current, at = cur && cur.saying !== undefined ? cur.saying : -1;
  const said = new Set(at >= 0 ? cur.calls.slice(0, at).map((c) => c.ticket_id) : []);
  const saying = at >= 0 && cur.calls[at] ? cur.calls[at].ticket_id : undefined;
  grid.replaceChildren(...(many ? calls : []).map((c) => {
    const tile = el("div", "now-call");
    tile.dataset.ticketId = c.ticket_id;
    tile.classList.toggle("saying", c.ticket_id === saying);
    tile.classList.toggle("said", said.has(c.ticket_id));
    tile.append(el("span", "n", c.number), el("span", "w", t("window_n", { w: c.window_number })));
    return tile;
  }));
}

// A window's tile: the number it is calling or serving, else what a visitor needs to know of it.
function windowLine(w) {
  if (!w.is_open) return { state: "closed", text: t("closed") };
  if (w.covered_by_number) return { state: "covered", text: t("go_cover", { w: w.covered_by_number }) };
  if (w.ticket_number) return { state: w.ticket_status === "serving" ? "serving" : "called", text: w.ticket_number };
  if (w.status === "empty") return { state: "empty", text: t("no_clerk") };
  if (w.status === "paused") return { state: "paused", text: t("paused") };
  return { state: "idle", text: t("idle") };
}

function renderWindows() {
  const ws = [...state.windows.values()].sort((a, b) => a.number - b.number);
  const cols = ws.length <= 4 ? 2 : ws.length <= 9 ? 3 : ws.length <= 16 ? 4 : 5;
  const grid = $("window-grid");
  grid.style.setProperty("--cols", String(cols));
  grid.style.setProperty("--rows", String(Math.max(1, Math.ceil(ws.length / cols))));
  grid.replaceChildren(...ws.map((w) => {
    const line = windowLine(w);
    const tile = el("div", `win-tile ${line.state}`);
    tile.dataset.window = w.number;
    tile.dataset.state = line.state;
    const sub = { called: t("calling"), serving: t("serving") }[line.state];
    tile.append(el("span", "wt-no", t("tile_window", { w: w.number })), el("span", "wt-now", line.text));
    if (sub) tile.append(el("span", "wt-sub", sub));
    return tile;
  }));
}

// Passed numbers (过号), newest first; only whole numbers that fit are listed.
function renderMissed() {
  const list = $("missed-list");
  list.replaceChildren(...state.missed.map((m) => {
    const s = el("span", "missed-no", m.number);
    s.dataset.ticketId = m.ticket_id;
    return s;
  }));
  $("missed").classList.toggle("none", state.missed.length === 0);
  if (!state.missed.length) list.append(el("span", "missed-none", t("none")));
  const limit = list.getBoundingClientRect().right;
  [...list.children].reverse().forEach((c) => { if (c.getBoundingClientRect().right > limit + 1) c.remove(); });
}

// Long queue names wrap to two lines and shrink to fit, then end in "…" (issue 21: a 16-character name must not break a tile).
function fitText(node, minPx) {
  node.style.fontSize = "";
  let size = parseFloat(getComputedStyle(node).fontSize);
  while ((node.scrollWidth > node.clientWidth + 1 || node.scrollHeight > node.clientHeight + 1) && size > minPx) {
    size -= 1;
    node.style.fontSize = `${size}px`;
  }
  node.title = node.textContent;
}

function minutes(s) {
  return Math.max(1, Math.ceil(s / 60));
}

function renderQueues() {
  const cards = [...state.queues.values()].sort((a, b) => a.prefix.localeCompare(b.prefix)).map((q) => {
    const card = el("div", "queue-card");
    card.dataset.prefix = q.prefix;
    const head = el("div", "q-head");
    head.append(el("span", "q-prefix", q.prefix), el("span", "q-name", nameOf(q)));
    card.title = nameOf(q);
    const waiting = el("div", "q-waiting");
    waiting.append(el("b", "q-count", String(q.waiting)), el("span", "", t("people_waiting")));
    // A queue nobody serves now gets no number: an estimate would be invented (issue 21 §8).
    const est = q.waiting > 0 && q.serving_windows === 0 ? el("div", "q-est none", t("no_window"))
      : el("div", "q-est", q.waiting > 0 ? t("about_min", { m: minutes(q.estimated_wait_s || 0) }) : t("no_wait"));
    card.append(head, waiting, est);
    return card;
  });
  $("queues").replaceChildren(...cards);
  document.querySelectorAll("#queues .q-name").forEach((n) => fitText(n, 16));
}

function renderCovers() {
  const lines = [...state.windows.values()].filter((w) => w.is_open && w.covered_by_number)
    .sort((a, b) => a.number - b.number)
    .map((w) => el("span", "cover", t("cover_line", { w: w.number, c: w.covered_by_number })));
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
  renderWindows();
  renderMissed();
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
  state.windows = new Map(snap.windows.map((w) => [w.id, { ...w, ticket_id: w.ticket ? w.ticket.id : null,
    ticket_number: w.ticket ? w.ticket.number : null, ticket_status: w.ticket ? w.ticket.status : null }]));
  state.missed = (snap.missed || []).map((m) => ({ ...m }));
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
  for (const w of state.windows.values()) {
    if (w.ticket_id !== ticketId) continue;
    if (OPEN.has(status)) w.ticket_status = status;
    else Object.assign(w, { ticket_id: null, ticket_number: null, ticket_status: null });
  }
}

// A call no longer true leaves the big numbers at once, not when its announcement winds down.
function unshow(ticketId) {
  if (!state.shown) return;
  state.shown = state.shown.filter((c) => c.ticket_id !== ticketId);
  if (!state.shown.length) state.shown = null;
}

function holdAt(win, ticket) {
  const w = windowOf(win.id);
  state.windows.set(win.id, { ...w, ticket_id: ticket.id, ticket_number: ticket.number, ticket_status: "called" });
  state.missed = state.missed.filter((m) => m.ticket_id !== ticket.id);
}

const handlers = {
  ticket_called({ ticket, window: win }) {
    holdAt(win, ticket);
    state.recent = [callEntry(ticket, win), ...state.recent.filter((c) => c.ticket_id !== ticket.id)].slice(0, 10);
    announcer.announce({ number: ticket.number, windowNumber: win.number, kind: "call", ticketId: ticket.id });
  },
  ticket_recalled({ ticket, window: win }) {
    holdAt(win, ticket);
    state.recent = [callEntry(ticket, win), ...state.recent.filter((c) => c.ticket_id !== ticket.id)].slice(0, 10);
    announcer.announce({ number: ticket.number, windowNumber: win.number, kind: "recall", ticketId: ticket.id });
  },
  ticket_started({ ticket }) { setStatus(ticket.id, ticket.status); },
  // A visitor already served, gone or sent elsewhere is not called any more.
  ticket_finished({ ticket }) {
    setStatus(ticket.id, ticket.status);
    if (ticket.status === "no_show" && !state.missed.some((m) => m.ticket_id === ticket.id)) {
      state.missed = [{ ticket_id: ticket.id, number: ticket.number, window_number: windowOf(ticket.window_id).number },
        ...state.missed].slice(0, 12);
    }
    announcer.retain((e) => e.ticket_id !== ticket.id);
    unshow(ticket.id);
  },
  // 过号重排: back in line, off the passed list.
  ticket_requeued({ ticket }) {
    state.missed = state.missed.filter((m) => m.ticket_id !== ticket.id);
  },
  ticket_transferred(p) {
    setStatus(p.from.id, p.from.status);
    announcer.retain((e) => e.ticket_id !== p.from.id);
    unshow(p.from.id);
  },
  window_status({ window: w }) {
    const old = windowOf(w.id);
    const held = w.ticket_number ? { ticket_number: w.ticket_number,
      ticket_status: old.ticket_number === w.ticket_number ? old.ticket_status : "serving" }
      : { ticket_id: null, ticket_number: null, ticket_status: null };
    state.windows.set(w.id, { ...old, ...w, ...held });
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

applyMarkup();
startClock(body.dataset.timezone || "Asia/Shanghai", { dateEl: $("date"), timeEl: $("time"), locale });
setInterval(renderNotices, 5000);  // drop notices as they expire
connectScreen({ join: { hall: hallId }, onSnapshot, onEvent });
