// Live: re-read the day's bookings from the API (session cookie) and update statuses in place.
import { api } from "/static/ov/api.js";
import { pageData } from "/static/ov/dom.js";
import { hallClock } from "/static/ov/time.js";

const LABELS = pageData("status-labels");
const live = document.getElementById("live");
async function refresh() {
  try {
    const data = await api("GET", `/api/v1/halls/${live.dataset.hall}/appointments?date=${live.dataset.date}`);
    for (const [k, v] of Object.entries(data.summary)) {
      const el = document.querySelector(`#summary [data-k="${k}"]`); if (el) el.textContent = v;
    }
    const known = new Set([...document.querySelectorAll("#bookings tbody tr[data-id]")].map((tr) => tr.dataset.id));
    if (data.items.some((b) => !known.has(String(b.id)))) { location.reload(); return; }
    for (const b of data.items) {
      const tr = document.querySelector(`#bookings tr[data-id="${b.id}"]`);
      if (!tr || tr.dataset.status === b.status) continue;
      tr.dataset.status = b.status;
      tr.cells[5].textContent = LABELS[b.status] + (b.late ? " （迟到）" : "");
      tr.cells[6].textContent = b.ticket_number || "";
      if (b.status !== "booked") tr.cells[7].textContent = "";
    }
    live.textContent = "已更新 " + hallClock(new Date().toISOString(), live.dataset.timezone, {seconds: true});
  } catch (e) { live.textContent = "刷新失败，稍后重试"; }
}
setInterval(refresh, 5000);
