// Window screen (窗口屏): window number and name, the number served, the clerk, the window's state.
// Shows ticket numbers only; visitors' names never reach a screen.
import { Announcer } from "./announcer.js";
import { connectScreen, pageToken, startClock, syncClock } from "./live.js";
import { $ } from "/static/ov/dom.js";

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

const POST = { A: "A岗", B: "B岗" };

function view() {
  const t = win.ticket;
  const covering = (win.covering || []).map((c) => `${c.number}号`).join("、");
  const also = covering ? `同时办理${covering}窗口业务（顶岗）` : "";
  switch (win.status) {
    case "serving":
      if (t && t.status === "called") return ["正在呼叫 Calling", t.number, `请 ${t.number} 号到本窗口办理`];
      return ["正在办理 Serving", t ? t.number : "", also];
    case "idle":
      return ["空闲 Ready", "请稍候", also || "请留意叫号"];
    case "paused":
      return ["暂停服务 Paused", "暂停", win.pause_reason ? `原因：${win.pause_reason}` : ""];
    case "closed":
      return ["本窗口已关闭 Closed", "暂停开放", "请到其他窗口办理"];
    case "covered":
      return ["顶岗 Covered", `请到 ${win.covered_by_number} 号窗口`,
        `${win.number}号窗口由${win.covered_by_number}号窗口顶岗`];
    default:
      return ["暂无工作人员 No clerk", "空岗", "请咨询大厅工作人员"];
  }
}

function render() {
  if (!win) return;
  for (const c of [...body.classList]) if (c.startsWith("status-")) body.classList.remove(c);
  body.classList.add(`status-${win.status}`);
  body.dataset.status = win.status;
  const [label, big, detail] = view();
  $("win-number").textContent = win.number;
  $("win-name").textContent = win.name;
  $("win-label").textContent = label;
  $("win-ticket").textContent = big;
  $("win-ticket").classList.toggle("is-number", win.status === "serving");
  $("win-detail").textContent = detail;
  const staffed = win.clerk_name && !["covered", "closed", "empty"].includes(win.status);
  $("win-clerk").hidden = !staffed;
  $("clerk-name").textContent = staffed ? win.clerk_name : "";
  const post = POST[win.clerk_post] || "";
  $("clerk-post").textContent = !staffed ? "" : win.status === "paused" ? post : `${post} 为您服务`;
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

startClock(body.dataset.timezone || "Asia/Shanghai", { timeEl: $("time") });
connectScreen({ join: { window: windowId }, onSnapshot, onEvent });
