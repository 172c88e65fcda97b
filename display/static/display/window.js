// Window screen (窗口屏): window number and name, the number served, the clerk, the window's state.
// Shows ticket numbers only; visitors' names never reach a screen.
import { Announcer } from "./announcer.js";
import { connectScreen, pageToken, startClock, syncClock } from "./live.js";
import { $ } from "/static/ov/dom.js";
import { applyMarkup, label, locale, show, t } from "./strings.js";

const body = document.body;
const windowId = Number(body.dataset.windowId);
let win = null;

const announcer = new Announcer({
  enabled: body.dataset.voice === "1",
  voiceUrl: body.dataset.voiceUrl,
  token: pageToken(),
  onUpdate: (e) => {
    $("announce-banner").textContent = e.text;
    $("announce-banner").hidden = e.method !== "text";
  },
  onEnd: () => { $("announce-banner").hidden = true; },
});
window.onevisitAnnouncer = announcer;

function view() {
  const tk = win.ticket;
  const covering = (win.covering || []).map((c) => t("also_n", { n: c.number })).join(t("sep"));
  const also = covering ? t("also", { w: covering }) : "";
  switch (win.status) {
    case "serving":
      if (tk && tk.status === "called") return [label("l_calling"), tk.number, t("come_here", { n: tk.number })];
      return [label("l_serving"), tk ? tk.number : "", also];
    case "idle":
      return [label("l_ready"), t("please_wait"), also || t("watch")];
    case "paused":
      return [label("l_paused"), t("pause_big"), win.pause_reason ? t("reason", { r: win.pause_reason }) : ""];
    case "closed":
      return [label("l_closed"), t("closed"), t("go_other")];
    case "covered":
      return [label("l_covered"), t("go_window", { w: win.covered_by_number }),
        t("covered_by", { w: win.number, c: win.covered_by_number })];
    default:
      return [label("l_empty"), t("empty_big"), t("ask_staff")];
  }
}

function render() {
  if (!win) return;
  for (const c of [...body.classList]) if (c.startsWith("status-")) body.classList.remove(c);
  body.classList.add(`status-${win.status}`);
  body.dataset.status = win.status;
  const [heading, big, detail] = view();
  $("win-number").textContent = win.number;
  $("win-name").textContent = win.name;
  show($("win-label"), heading);
  show($("win-ticket"), big);
  $("win-ticket").classList.toggle("is-number", win.status === "serving");
  show($("win-detail"), detail);
  const staffed = win.clerk_name && !["covered", "closed", "empty"].includes(win.status);
  $("win-clerk").hidden = !staffed;
  $("clerk-name").textContent = staffed ? win.clerk_name : "";
  const post = win.clerk_post ? t(`post_${win.clerk_post}`) : "";
  show($("clerk-post"), !staffed ? "" : win.status === "paused" ? post : t("at_service", { p: post }));
}

function onSnapshot(snap) {
  // A call made while this screen was cut off is announced once it is back (the hall screen does the same).
  const before = win && win.ticket ? win.ticket.id : null;
  const resync = win !== null;
  syncClock(snap.server_time);
  win = { ...snap.window };
  body.dataset.snapshots = String(Number(body.dataset.snapshots || 0) + 1);
  const held = win.ticket && win.ticket.status === "called" ? win.ticket.id : null;
  announcer.retain((e) => e.ticket_id === held);
  if (resync && held && held !== before) {
    announcer.announce({ number: win.ticket.number, windowNumber: win.number, kind: "call", ticketId: held });
  }
  render();
}

function mine(w) {
  return w && w.id === windowId;
}

const handlers = {
  ticket_called({ ticket, window: w }) {
    if (!mine(w)) return;  // a call for a post this window covers is shown by that window's own data
    win.ticket = ticket;
    win.status = "serving";
    announcer.announce({ number: ticket.number, windowNumber: w.number, kind: "call", ticketId: ticket.id });
  },
  ticket_recalled({ ticket, window: w }) {
    if (!mine(w)) return;
    win.ticket = ticket;
    win.status = "serving";
    announcer.announce({ number: ticket.number, windowNumber: w.number, kind: "recall", ticketId: ticket.id });
  },
  ticket_started({ ticket }) {
    if (ticket.window_id === windowId) win.ticket = ticket;
  },
  ticket_finished({ ticket }) {
    announcer.retain((e) => e.ticket_id !== ticket.id);  // a visitor already served is not called any more
    const held = win.ticket && (win.ticket.id === ticket.id || (!win.ticket.id && win.ticket.number === ticket.number));
    if (held) {
      win.ticket = null;
      if (win.status === "serving") win.status = "idle";
    }
  },
  ticket_transferred(p) {
    handlers.ticket_finished({ ticket: p.from });
  },
  window_status({ window: w }) {
    if (!mine(w)) return;
    const keep = win.ticket && w.ticket_number === win.ticket.number;
    Object.assign(win, w);
    if (!w.ticket_number) win.ticket = null;
    else if (!keep) win.ticket = { number: w.ticket_number, status: "serving" };
  },
  post_covered(p) {
    if (p.window_id === windowId) Object.assign(win, { status: "covered", covered_by_id: p.covered_by_id,
      covered_by_number: p.covered_by_number });
    if (p.covered_by_id === windowId) {
      win.covering = [...(win.covering || []).filter((c) => c.id !== p.window_id), { id: p.window_id, number: p.window_number }];
    }
  },
  post_uncovered(p) {
    if (p.window_id === windowId) Object.assign(win, { status: "empty", covered_by_id: null, covered_by_number: null });
    win.covering = (win.covering || []).filter((c) => c.id !== p.window_id);
  },
  post_restored(p) {
    if (p.window_id === windowId) Object.assign(win, { covered_by_id: null, covered_by_number: null });
    win.covering = (win.covering || []).filter((c) => c.id !== p.window_id);
  },
};

function onEvent(name, payload) {
  const h = handlers[name];
  if (!h || !win) return;
  h(payload);
  render();
}

applyMarkup();
startClock(body.dataset.timezone || "Asia/Shanghai", { timeEl: $("time"), locale });
connectScreen({ join: { window: windowId }, onSnapshot, onEvent });
