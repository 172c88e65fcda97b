/* 现场管理 KPI strip: today's issued, served, waiting now, average and longest wait, satisfaction — live.
   Counts and today's means come from the statistics API for the hall's service day (refetched a moment after
   the hall's events, which dashboard.js turns into fresh snapshots); the waiting count and the longest wait
   come from the snapshot's queues and tick every second between events. */
import { api } from "/static/ov/api.js";
import { $, pageData } from "/static/ov/dom.js";

const page = pageData();
let queues = [], timer = null;
const minutes = (s) => s == null ? "—" : s < 60 ? "不足1分" : s >= 3600
  ? `${Math.floor(s / 3600)}小时${Math.floor(s % 3600 / 60)}分` : `${Math.round(s / 60)}分`;

async function loadToday() {
  const q = new URLSearchParams({from: page.today, to: page.today, group: "day", by: "hall"});
  try {
    const t = (await api("GET", `/api/v1/halls/${page.hall_id}/statistics?${q}`)).totals;
    $("kpi-issued").textContent = t.issued;
    $("kpi-served").textContent = t.served;
    $("kpi-served-sub").textContent = t.no_show ? `件 · 过号 ${t.no_show}` : "件";
    $("kpi-wait-mean").textContent = minutes(t.wait_mean_s);
    $("kpi-satisfaction").textContent = t.satisfaction == null ? "—" : `${(t.satisfaction * 100).toFixed(1)}%`;
    $("kpi-ratings").textContent = t.ratings ? `${t.ratings} 条评价` : "暂无评价";
    document.body.dataset.kpisLoaded = String(Number(document.body.dataset.kpisLoaded || 0) + 1);
  } catch (e) { /* the strip keeps its last figures; the page's own banner reports the connection */ }
}
const loadSoon = () => { clearTimeout(timer); timer = setTimeout(loadToday, 500); };

function renderWaiting() {
  const waiting = queues.reduce((n, q) => n + (q.waiting || 0), 0);
  const oldest = queues.map((q) => q.oldest_issued_at).filter(Boolean).map(Date.parse);
  const longest = oldest.length ? Math.floor((Date.now() - Math.min(...oldest)) / 1000) : null;
  $("kpi-waiting").textContent = waiting;
  $("kpi-wait-longest").textContent = longest == null ? "—" : minutes(longest);
  const head = longest == null ? null : queues.find((q) => q.oldest_issued_at && Date.parse(q.oldest_issued_at) === Math.min(...oldest));
  $("kpi-wait-longest-sub").textContent = head ? `${head.prefix} ${head.name}` : "无人等候";
  $("kpis").querySelector("[data-kpi='wait_longest']").classList.toggle("bad", longest != null && longest >= page.wait_alert_s);
}

document.addEventListener("ov:hall-snapshot", (ev) => { queues = ev.detail.queues || []; renderWaiting(); loadSoon(); });
document.addEventListener("ov:queue-stats", (ev) => { queues = ev.detail; renderWaiting(); });
setInterval(renderWaiting, 1000);
loadToday();
