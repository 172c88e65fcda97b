// The visitor's phone: live position of one ticket, with sound and vibration near the turn.
(function () {
  var code = document.getElementById("follow").dataset.code, alerted = false;
  var NEAR = Number(document.getElementById("follow").dataset.nearTurn), audioCtx = null, $ = function (i) { return document.getElementById(i); };
  var STATUS = { waiting: "等候中", called: "请到窗口办理", serving: "正在办理", done: "已办结", no_show: "已过号",
    cancelled: "已取消", transferred: "已转办" };
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
  function alertOnce(text) {
    if (alerted) return;
    alerted = true;
    try { localStorage.setItem("ov-alerted-" + code, "1"); } catch (e) {}
    if (navigator.vibrate) navigator.vibrate([300, 150, 300, 150, 300]);
    beep();
    $("box").classList.add("alert");
  }
  try { alerted = localStorage.getItem("ov-alerted-" + code) === "1"; } catch (e) {}
  $("enable").onclick = function () { beep(); $("enable").textContent = "提醒已开启"; };
  function render(d) {
    var t = d.ticket, st = t.status;
    $("num").textContent = t.number;
    $("status").textContent = STATUS[st] || st;
    $("box").classList.toggle("called", st === "called");
    if (st === "called" && d.window_number) $("status").textContent = "请到 " + d.window_number + " 号窗口办理";
    if (st === "waiting") {
      // Never "0 minutes" with people ahead; no number when no window serves the queue now.
      var mins = Math.max(1, Math.ceil((d.estimated_wait_s || 0) / 60));
      $("ahead").textContent = d.people_ahead <= 0 ? "马上就到您了" : d.serving_windows === 0
        ? "前面还有 " + d.people_ahead + " 人，暂无窗口办理，请留意叫号"
        : "前面还有 " + d.people_ahead + " 人，" + (d.wait_text ? "预计等待" + d.wait_text : "预计约 " + mins + " 分钟");
      if (d.people_ahead <= NEAR) alertOnce();
    } else { $("ahead").textContent = ""; if (st === "called") { alerted = false; alertOnce(); } }
    $("now-card").hidden = !d.now_calling || st !== "waiting";
    if (d.now_calling) $("now").textContent = d.now_calling.number + " 号 · 请到 " + d.now_calling.window_number + " 号窗口";
    $("matter").textContent = t.bundle || (t.items || []).join("、");
    var FORMS = { original: "原件", copy: "复印件", original_and_copy: "原件及复印件" };
    $("materials").innerHTML = "";
    (t.materials || []).forEach(function (m) {
      var li = document.createElement("li");
      li.textContent = m.name + "（" + (FORMS[m.form] || "复印件") + (m.count > 1 ? " " + m.count + " 份" : "") + "）";
      if (m.deferrable) { var s = document.createElement("span"); s.className = "tag"; s.textContent = "可后补"; li.appendChild(s); }
      $("materials").appendChild(li);
    });
    var hours = (d.hours_today || []).map(function (h) { return h[0] + "–" + h[1]; }).join("、");
    $("hours").textContent = hours ? "今日办公时间：" + hours : "今日不办公";
    $("updated").textContent = "更新于 " + new Date().toLocaleTimeString("zh-CN", { hour12: false });
  }
  function poll() {
    fetch("/api/v1/follow/" + encodeURIComponent(code)).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) { if (d) render(d); }).catch(function () { $("updated").textContent = "网络不稳定，正在重试…"; });
  }
  poll(); setInterval(poll, 5000);
})();
