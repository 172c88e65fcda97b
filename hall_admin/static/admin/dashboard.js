/* 现场管理: live grid of windows and queues, alerts with a sound, manager actions over the JSON API. */
import { api } from "/static/ov/api.js";
import { $, el, pageData, toast } from "/static/ov/dom.js";
import { hallDateTime, since } from "/static/ov/time.js";
import { live } from "/static/ov/live.js";

const page = pageData();
const STATUS = {idle: "空闲", serving: "办理中", paused: "暂停", empty: "空岗", covered: "被顶岗", closed: "关闭"};
const KIND = page.alert_kinds;  // vocabulary.ALERT_KIND_LABELS
let windows = [], queues = {}, alerts = [], notices = [], audio = null, timer = null, editing = null;
document.body.dataset.soundPlayed = "0";

// ------------------------------------------------------------------ sound (WebAudio beep)
$("sound-on").addEventListener("click", async () => {
  audio = audio || new (window.AudioContext || window.webkitAudioContext)();
  await audio.resume();
  $("sound-state").textContent = "提示音已开启";
  document.body.dataset.soundEnabled = "1";
});
function beep() {
  if (!audio || audio.state !== "running") return false;
  const osc = audio.createOscillator(), gain = audio.createGain();
  osc.type = "square"; osc.frequency.value = 880;
  gain.gain.setValueAtTime(0.2, audio.currentTime);
  gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.6);
  osc.connect(gain).connect(audio.destination);
  osc.start(); osc.stop(audio.currentTime + 0.6);
  document.body.dataset.soundPlayed = String(Number(document.body.dataset.soundPlayed) + 1);
  return true;
}

// ------------------------------------------------------------------ data
function apply(snap) {
  windows = snap.windows; alerts = snap.alerts; notices = snap.notices || [];
  queues = {}; for (const q of snap.queues) queues[q.queue_id] = q;
  render();
  // The KPI strip (dashboard_kpis.js) follows every fresh snapshot.
  document.dispatchEvent(new CustomEvent("ov:hall-snapshot", {detail: snap}));
}
// Snapshot reads are numbered: one that left before this page's own action (or a notice change it was told of)
// came back is older than what the page shows, and would take the new notice or window state off the screen.
let snapSeq = 0, freshFrom = 0;
const newerThanReadsInFlight = () => { freshFrom = snapSeq + 1; };
function reload() {
  clearTimeout(timer);
  timer = setTimeout(async () => {
    const seq = ++snapSeq;
    try {
      const snap = await api("GET", `/api/v1/halls/${page.hall_id}/snapshot`);
      if (seq < freshFrom) { reload(); return; }  // stale: read again
      apply(snap);
    } catch (e) { toast(e.message, "error"); }
  }, 200);
}
const handlers = {
  snapshot: apply,
  alert: (a) => { if (!alerts.some((x) => x.id === a.id)) alerts.unshift(a); beep(); renderAlerts(); reload(); },
  queue_stats: (ev) => {
    for (const q of ev.queues) queues[q.queue_id] = q;
    renderQueues();
    document.dispatchEvent(new CustomEvent("ov:queue-stats", {detail: Object.values(queues)}));
  },
  notice_changed: (ev) => { notices = ev.notices || []; newerThanReadsInFlight(); renderNotices(); },
  online: () => { $("live-state").textContent = "实时连接正常"; },
  offline: () => { $("live-state").textContent = "实时连接中断，正在重连…"; },
  error: (err) => toast(err.message, "error"),
};
for (const name of ["ticket_issued", "ticket_called", "ticket_recalled", "ticket_started", "ticket_finished",
                    "ticket_transferred", "ticket_requeued", "window_status", "post_covered", "post_uncovered",
                    "post_restored", "alert_cleared"]) handlers[name] = reload;
live({hall: page.hall_id}, handlers);

// ------------------------------------------------------------------ render
function render() { renderWindows(); renderQueues(); renderAlerts(); renderNotices(); }

// The notices now on the hall screens, each with its end time and a withdraw button.
const hm = (iso) => {
  const [date, time] = hallDateTime(iso, page.timezone).split(" ");
  const [, m, d] = date.split("/").map(Number);
  return `${m}月${d}日 ${time}`;
};
function renderNotices() {
  const live = notices.filter((n) => !n.expires_at || Date.parse(n.expires_at) > Date.now());
  $("notice-count").textContent = live.length;
  $("notices-none").hidden = live.length > 0;
  $("notices").replaceChildren(...live.map((n) => el("li", {"data-notice": n.id},
    el("span", {class: "text"}, n.text), " ",
    el("span", {class: "muted"}, n.expires_at ? `显示到 ${hm(n.expires_at)}` : "一直显示，直到撤下"), " ",
    el("button", {type: "button", class: "secondary", "data-act": "withdraw", onclick: () => withdraw(n)}, "撤下"))));
}
function withdraw(n) {
  if (!confirm(`确定从综合屏撤下这条公告？\n${n.text}`)) return;
  run(() => api("DELETE", `/api/v1/notices/${n.id}`), "公告已撤下");
}

function renderWindows() {
  const box = $("windows");
  box.replaceChildren(...windows.map((w) => {
    const t = w.ticket;
    const card = el("div", {class: `card win status-${w.status}`, "data-window": w.id, "data-status": w.status},
      el("h3", {}, `${w.number}号 ${w.name}`),
      el("div", {class: "row"}, el("span", {class: "tag"}, STATUS[w.status] || w.status),
         w.clerk_name ? `${w.clerk_name}${w.clerk_post ? "（" + w.clerk_post + "岗）" : ""}` : "无人在岗"),
      w.pause_reason ? el("div", {class: "row"}, `暂停原因：${w.pause_reason}`) : null,
      t ? el("div", {class: "row"}, `在办 ${t.number} · ${t.called_at ? since(t.called_at) : ""}`) : null,
      w.covered_by_number ? el("div", {class: "row"}, `由${w.covered_by_number}号窗口顶岗`) : null,
      (w.covering || []).length ? el("div", {class: "row"}, `正在为${w.covering.map((c) => c.number).join("、")}号顶岗`) : null,
      el("div", {class: "row muted"}, "队列：" + ((w.queues || []).map((q) => q.prefix + (q.role === "helper" ? "（协办）" : ""))
        .join(" ") || "未设置，叫不到号")),
      el("div", {class: "actions"},
        el("button", {class: "secondary", "data-act": w.is_open ? "close" : "open",
                      onclick: () => openClose(w)}, w.is_open ? "关闭窗口" : "开放窗口"),
        el("button", {class: "secondary", "data-act": "config", onclick: () => openConfig(w)}, "调整队列"),
        el("button", {class: "secondary", "data-act": "cover", onclick: () => openCover(w),
                      disabled: !(w.is_open && (w.status === "empty" || w.status === "paused"))}, "安排顶岗")));
    return card;
  }));
}

function renderQueues() {
  const body = $("queues").querySelector("tbody");
  body.replaceChildren(...Object.values(queues).map((q) => {
    const waitS = q.oldest_issued_at ? (Date.now() - Date.parse(q.oldest_issued_at)) / 1000 : 0;
    return el("tr", {"data-queue": q.queue_id, class: waitS > page.wait_alert_s ? "overdue" : ""},
      el("td", {}, `${q.prefix} ${q.name}`), el("td", {}, `${q.waiting}人`),
      el("td", {}, q.oldest_issued_at ? since(q.oldest_issued_at) : "—"));
  }));
}

function renderAlerts() {
  // service_levels.js (the service-level panel and the emergency alarms) follows the same alert list.
  document.dispatchEvent(new CustomEvent("ov:alerts", {detail: alerts}));
  $("alert-count").textContent = alerts.length;
  $("alerts").replaceChildren(...alerts.map((a) => el("li", {class: `kind-${a.kind}`, "data-alert": a.id,
                                                           "data-kind": a.kind},
    el("strong", {}, KIND[a.kind] || a.kind), " ", a.message, " ",
    el("span", {class: "muted"}, a.raised_at ? since(a.raised_at) + "前" : ""))));
}

// ------------------------------------------------------------------ actions
async function run(fn, okMsg) {
  try { await fn(); if (okMsg) toast(okMsg); } catch (e) { toast(e.message, "error"); }
  finally { newerThanReadsInFlight(); reload(); }
}
function openClose(w) {
  if (!confirm(`确定${w.is_open ? "关闭" : "开放"}${w.number}号窗口？`)) return;
  run(() => api("POST", `/api/v1/windows/${w.id}/${w.is_open ? "close" : "open"}`));
}
function openConfig(w) {
  editing = w;
  $("c-title").textContent = `${w.number}号窗口`;
  const served = Object.fromEntries((w.queues || []).map((q) => [q.id, q.role]));
  $("c-queues").replaceChildren(...page.queues.map((q) => el("tr", {},
    el("td", {}, `${q.prefix} ${q.name}`),
    el("td", {}, el("select", {"data-queue": q.id},
      el("option", {value: ""}, "不服务"),
      el("option", {value: "primary", selected: served[q.id] === "primary"}, "主队列"),
      el("option", {value: "helper", selected: served[q.id] === "helper"}, "辅助（兜底）"))))));
  $("c-error").hidden = true;
  $("config-dlg").showModal();
}
$("c-submit").addEventListener("click", async () => {
  const picked = [...$("c-queues").querySelectorAll("select")].filter((s) => s.value)
    .map((s) => ({queue_id: Number(s.dataset.queue), role: s.value}));
  picked.sort((a, b) => (a.role === b.role ? 0 : a.role === "primary" ? -1 : 1));
  try {
    await api("PUT", `/api/v1/windows/${editing.id}/config`, {queues: picked});
    $("config-dlg").close(); toast("已保存"); newerThanReadsInFlight(); reload();
  } catch (e) { $("c-error").textContent = e.message; $("c-error").hidden = false; }
});
function openCover(w) {
  editing = w;
  $("v-title").textContent = `${w.number}号窗口`;
  $("v-by").replaceChildren(...windows.filter((x) => x.id !== w.id && x.status !== "closed" && x.clerk_id && !x.paused_at)
    .map((x) => el("option", {value: x.id}, `${x.number}号（${x.clerk_name || ""}）`)));
  $("v-error").hidden = true;
  $("cover-dlg").showModal();
}
$("v-submit").addEventListener("click", async () => {
  try {
    await api("POST", `/api/v1/windows/${editing.id}/cover`, {by_window_id: Number($("v-by").value)});
    $("cover-dlg").close(); toast("已安排顶岗"); newerThanReadsInFlight(); reload();
  } catch (e) { $("v-error").textContent = e.message; $("v-error").hidden = false; }
});
// Midnight ending the hall's day (its zone, not the manager's PC's): the hall's wall clock read as UTC,
// less the hall's offset from UTC.
function endOfHallDay(now) {
  const [date, time] = hallDateTime(now.toISOString(), page.timezone).split(" ");
  const [y, m, d] = date.split("/").map(Number), [hh, mm] = time.split(":").map(Number);
  const offset = Date.UTC(y, m - 1, d, hh, mm) - Math.floor(now.getTime() / 60e3) * 60e3;
  return Date.UTC(y, m - 1, d + 1) - offset;
}
$("notice-send").addEventListener("click", () => {
  const text = $("notice-text").value.trim();
  if (!text) return;
  const until = $("notice-until").value, at = new Date();
  const body = {text};
  if (until === "today") at.setTime(endOfHallDay(at));
  else if (until) at.setTime(at.getTime() + Number(until.slice(1)) * (until[0] === "h" ? 3600e3 : 864e5));
  if (until) body.expires_at = at.toISOString();
  run(async () => {
    await api("POST", `/api/v1/halls/${page.hall_id}/notices`, body);
    $("notice-text").value = ""; $("notice-until").value = "";
  }, "公告已发布");
});
setInterval(() => { renderQueues(); renderAlerts(); renderNotices(); }, 5000);
