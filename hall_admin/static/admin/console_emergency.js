/* 紧急求助 (issue 17): the clerk's emergency button and its hotkey (F10). One press raises an alarm on the floor
   dashboard with this window and the time; a manager acknowledges it there. Pressing again while it is open
   changes nothing. */
import { api } from "/static/ov/api.js";
import { toast } from "/static/ov/dom.js";

const btn = document.getElementById("btn-emergency"), state = document.getElementById("emergency-state");
let sending = false;

async function raise() {
  if (sending || document.getElementById("desk").hidden) return;
  sending = true;
  try {
    const me = await api("GET", "/api/v1/auth/me");
    if (!me.window_id) { toast("您尚未在窗口签到", "error"); return; }
    const alarm = await api("POST", `/api/v1/windows/${me.window_id}/emergency`);
    state.hidden = false;
    state.dataset.alarm = alarm.id;
    state.textContent = "已发出紧急求助，现场管理人员已收到，请保持冷静";
    toast("已发出紧急求助");
  } catch (e) { toast(e.message, "error"); } finally { sending = false; }
}
btn.addEventListener("click", raise);
document.addEventListener("keydown", (e) => {
  if (e.key !== "F10") return;
  e.preventDefault();  // F10 would move the focus to the browser's menu
  raise();
});
