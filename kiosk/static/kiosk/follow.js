// The visitor's phone: live position of one ticket, with sound and vibration near the turn; where to wait,
// the matter and its materials, give up my place (with a confirmation), 好差评 once finished.
import { api } from "/static/ov/api.js";
import { $ } from "/static/ov/dom.js";
import { hallClock } from "/static/ov/time.js";
import { bilingual, createI18n, pageLang } from "/static/ov/i18n.js";
import { whereText } from "./places.js";
import { withVisitorText } from "./visitor_text.js";

var code = document.getElementById("follow").dataset.code, alerted = false;
var NEAR = Number(document.getElementById("follow").dataset.nearTurn), audioCtx = null;
// Every string the page shows, in Chinese and English (the phone's language decides).
var STR = withVisitorText(bilingual({
  title: ["排队进度", "Queue progress"],
  now_calling: ["本队列正在呼叫", "Now calling in this queue"],
  matter: ["办理事项", "Service"],
  materials: ["请带齐以下材料", "Please bring"],
  rate_note: ["业务已办结，欢迎评价本次服务", "Your service is finished. Please rate it."],
  rate: ["好差评 · 评价本次服务", "Rate this service"],
  cancel: ["不办了，放弃排队", "Give up my place"],
  hall: ["大厅信息", "The hall"],
  enable: ["开启声音和振动提醒", "Turn on sound and vibration alerts"],
  enabled: ["提醒已开启", "Alerts on"],
  confirm_title: ["确定放弃排队吗？", "Give up your place?"],
  confirm_text: ["放弃后这个号码作废，不能恢复；还要办理请重新取号。", "Your number will be void and cannot be restored; take a new ticket to come back."],
  confirm_no: ["继续排队", "Keep my place"],
  confirm_yes: ["确定放弃", "Give it up"],
  cancelled_msg: ["已为您放弃排队。还要办理请重新取号。", "You have left the queue. Take a new ticket to come back."],
  cancel_failed: ["没能放弃排队，请到服务台咨询。", "Could not leave the queue. Please ask at the service desk."],
  checking: ["正在查询…", "Checking…"],
  waiting: ["等候中", "Waiting"],
  called: ["请到窗口办理", "Please go to the window"],
  serving: ["正在办理", "Being served"],
  done: ["已办结", "Finished"],
  no_show: ["已过号", "Missed"],
  cancelled: ["已取消", "Cancelled"],
  transferred: ["已转办", "Transferred"],
  go_to: ["请到 {w} 号窗口办理", "Please go to window {w}"],
  next: ["马上就到您了", "You are next"],
  next_nobody: ["暂无窗口办理，请留意叫号", "No window serves this queue right now, please watch the screen"],
  ahead_nobody: ["前面还有 {n} 人，暂无窗口办理，请留意叫号", "{n} ahead of you; no window serves this queue right now"],
  ahead: ["前面还有 {n} 人，预计约 {m} 分钟", "{n} ahead of you, about {m} min"],
  ahead_range: ["前面还有 {n} 人，预计等待{w}", "{n} ahead of you, expected wait {w}"],
  now_line: ["{n} 号 · 请到 {w} 号窗口", "{n} · window {w}"],
  copies: [" {n} 份", ", {n} copies"],
  hours: ["今日办公时间：{h}", "Open today: {h}"],
  closed_today: ["今日不办公", "Closed today"],
  updated: ["更新于 {t}", "Updated {t}"],
  retrying: ["网络不稳定，正在重试…", "Network unstable, retrying…"],
}));
// The phone's language decides (or ?lang=en|zh).
var I18N = createI18n(STR, pageLang({ browser: true })), LANG = I18N.lang, t = I18N.t;
I18N.apply();
$("status").textContent = t("checking");

function beep() {
  try {
    audioCtx = audioCtx || new (window.AudioContext || window.webkitAudioContext)();
    [0, 0.35, 0.7].forEach(function (at) {
      var o = audioCtx.createOscillator(), g = audioCtx.createGain();
      o.frequency.value = 880; o.connect(g); g.connect(audioCtx.destination);
      g.gain.value = 0.3; o.start(audioCtx.currentTime + at); o.stop(audioCtx.currentTime + at + 0.2);
    });
  } catch (e) { /* no audio */ }
}
function alertOnce() {
  if (alerted) return;
  alerted = true;
  try { localStorage.setItem("ov-alerted-" + code, "1"); } catch (e) {}
  if (navigator.vibrate) navigator.vibrate([300, 150, 300, 150, 300]);
  beep();
  $("box").classList.add("alert");
}
try { alerted = localStorage.getItem("ov-alerted-" + code) === "1"; } catch (e) {}
$("enable").onclick = function () { beep(); $("enable").textContent = t("enabled"); };


var given = false;
function render(d) {
  var tk = d.ticket, st = tk.status;
  $("num").textContent = tk.number;
  $("status").textContent = t(st);
  $("box").classList.toggle("called", st === "called");
  if (st === "called" && d.window_number) $("status").textContent = t("go_to", { w: d.window_number });
  if (st === "waiting") {
    // Never "0 minutes" with people ahead; no number when no window serves the queue now.
    var mins = Math.max(1, Math.ceil((d.estimated_wait_s || 0) / 60));
    $("ahead").textContent = d.people_ahead <= 0 ? t(d.serving_windows === 0 ? "next_nobody" : "next") : d.serving_windows === 0
      ? t("ahead_nobody", { n: d.people_ahead })
      : d.wait_text ? t("ahead_range", { n: d.people_ahead, w: d.wait_text }) : t("ahead", { n: d.people_ahead, m: mins });
    if (d.people_ahead <= NEAR) alertOnce();
  } else { $("ahead").textContent = ""; if (st === "called") { alerted = false; alertOnce(); } }
  var where = st === "waiting" ? whereText(d.wait_place, t) : "";
  $("where").textContent = where;
  $("where").hidden = !where;
  $("now-card").hidden = !d.now_calling || st !== "waiting";
  if (d.now_calling) $("now").textContent = t("now_line", { n: d.now_calling.number, w: d.now_calling.window_number });
  $("matter").textContent = tk.bundle || (tk.items || []).join("、");
  $("materials").innerHTML = "";
  (tk.materials || []).forEach(function (m) {
    var li = document.createElement("li");
    li.textContent = m.name + "（" + t(m.form in STR.zh ? m.form : "copy") + (m.count > 1 ? t("copies", { n: m.count }) : "") + "）";
    if (m.deferrable) { var s = document.createElement("span"); s.className = "tag"; s.textContent = t("deferrable"); li.appendChild(s); }
    $("materials").appendChild(li);
  });
  var hours = (d.hours_today || []).map(function (h) { return h[0] + "–" + h[1]; }).join(t("sep"));
  $("hours").textContent = hours ? t("hours", { h: hours }) : t("closed_today");
  if (d.hall_address) { $("address").textContent = d.hall_address; $("address").hidden = false; }
  // Leaving is possible only while waiting; 好差评 once the matter is finished.
  $("cancel-card").hidden = st !== "waiting" && !given;
  $("cancel").hidden = st !== "waiting";
  $("rate-card").hidden = st !== "done";
  // The hall's time, whatever zone the phone is set to.
  $("updated").textContent = t("updated", { t: hallClock(new Date().toISOString(), d.hall_timezone,
                                                         { seconds: true, lang: LANG === "en" ? "en-GB" : "zh-CN" }) });
}
function poll() {
  api("GET", "/api/v1/follow/" + encodeURIComponent(code)).then(render)
    .catch(function (e) { if (!e.status) $("updated").textContent = t("retrying"); });
}
$("cancel").onclick = function () { $("confirm").hidden = false; $("confirm-no").focus(); };
$("confirm-no").onclick = function () { $("confirm").hidden = true; };
$("confirm-yes").onclick = function () {
  $("confirm").hidden = true;
  var msg = $("cancel-msg");
  api("POST", "/api/v1/follow/" + encodeURIComponent(code) + "/cancel").then(function () {
    given = true; msg.hidden = false; msg.textContent = t("cancelled_msg"); poll();
  }, function (e) {
    if (!e.status) { $("updated").textContent = t("retrying"); return; }
    msg.hidden = false; msg.textContent = t("cancel_failed");  // the server's message is for technicians, not visitors
    poll();
  });
};
poll(); setInterval(poll, 5000);
