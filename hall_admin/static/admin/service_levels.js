/* 现场管理 (issue 17): every queue and window against the hall's service levels, green / amber / red, and the
   clerks' emergency alarms, which stay on top of the page until a manager acknowledges them. */
import { api } from "/static/ov/api.js";
import { $, el, pageData, toast } from "/static/ov/dom.js";
import { since } from "/static/ov/time.js";

const page = pageData();
const STATE = {green: "达标", amber: "接近标准", red: "超标"};
const dur = (s) => (s == null ? "—" : s < 60 ? `${s}秒` : `${Math.floor(s / 60)}分钟`);
const target = (t, fmt) => (t > 0 ? ` / ${fmt(t)}` : "");
let timer = null;

function badge(state) {
  return el("span", {class: "sl-badge", "data-state": state}, STATE[state] || state);
}

function render(v) {
  $("sl-hall").dataset.state = v.hall_state;
  $("sl-hall").textContent = STATE[v.hall_state];
  $("sl-queues").tBodies[0].replaceChildren(...v.queues.map((q) => el("tr", {"data-queue": q.queue_id, "data-state": q.state},
    el("td", {}, `${q.prefix} ${q.name}`),
    el("td", {"data-state": q.length_state}, `${q.waiting}人${target(q.max_queue_len, (n) => `${n}人`)}`),
    el("td", {"data-state": q.wait_state}, `${q.waiting ? dur(q.longest_wait_s) : "—"}${target(q.max_wait_s, dur)}`),
    el("td", {}, badge(q.state)))));
  $("sl-windows").tBodies[0].replaceChildren(...v.windows.map((w) => el("tr", {"data-window": w.window_id, "data-state": w.state},
    el("td", {}, `${w.number}号 ${w.name}`),
    el("td", {"data-state": w.service_state},
       w.ticket_number ? `${w.ticket_number} ${dur(w.service_s)}${target(w.max_service_s, dur)}` : "—"),
    el("td", {"data-state": w.idle_state},
       w.idle_waiting_s != null ? `${dur(w.idle_waiting_s)}${target(w.max_idle_s, dur)}` : "—"),
    el("td", {}, badge(w.state)))));
}

async function refresh() {
  try { render(await api("GET", `/api/v1/halls/${page.hall_id}/service-levels`)); }
  catch (e) { toast(e.message, "error"); }
}
function soon() { clearTimeout(timer); timer = setTimeout(refresh, 300); }

// ------------------------------------------------------------------ emergency alarms
function renderEmergencies(alerts) {
  const open = alerts.filter((a) => a.kind === page.emergency_kind);
  const box = $("emergencies");
  box.hidden = open.length === 0;
  document.body.dataset.emergencies = String(open.length);
  box.replaceChildren(...open.map((a) => el("div", {class: "emergency", "data-alarm": a.id},
    el("strong", {}, "紧急求助"), " ", a.message, " ",
    el("span", {class: "when"}, a.raised_at ? `（${since(a.raised_at)}前）` : ""), " ",
    el("button", {type: "button", class: "danger", "data-act": "acknowledge", onclick: () => acknowledge(a)},
       "确认，已前往处理"))));
}
async function acknowledge(a) {
  try {
    await api("POST", `/api/v1/alerts/${a.id}/acknowledge`);
    toast("已确认紧急求助");
    document.querySelector(`[data-alarm="${a.id}"]`)?.remove();
    if (!$("emergencies").children.length) $("emergencies").hidden = true;
  } catch (e) { toast(e.message, "error"); }
}

document.addEventListener("ov:alerts", (e) => { renderEmergencies(e.detail); soon(); });
api("GET", `/api/v1/halls/${page.hall_id}/alerts`).then((r) => renderEmergencies(r.items)).catch(() => {});
refresh();
setInterval(refresh, 5000);
