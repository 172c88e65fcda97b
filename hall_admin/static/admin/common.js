/* Shared by staff pages: JSON API calls with the session cookie + CSRF header, and Socket.IO. */
"use strict";
const OV = (() => {
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";

  // Staff read Chinese: an API message in English is replaced by its code's sentence here (codes whose
  // English message carries details the page needs, e.g. validation, keep it until the server says them in Chinese).
  const ZH = {
    ticket_in_hand: "手上还有在办号票，请先办结或转办", window_closed: "窗口已关闭", window_paused: "窗口暂停服务中",
    window_covered: "本窗口正由其他窗口顶岗", window_taken: "该窗口已有人签到", signed_in_elsewhere: "您已在其他窗口签到",
    not_signed_in: "您尚未在窗口签到", not_in_hand: "该号票不在本窗口", recall_limit: "重呼次数已达上限",
    requeue_limit: "过号重排次数已达上限", reason_required: "请填写原因", cannot_cover: "该窗口现在不能顶岗",
    already_covered: "该窗口已有顶岗", staffed: "该窗口有人在岗", materials_required: "请选择缺少的材料",
    fix_required: "请填写需要补正的内容", text_required: "请填写内容", text_too_long: "内容过长",
    too_many_notices: "公告过多，请先撤下旧公告", expires_in_past: "结束时间已过",
    forbidden: "您没有权限执行此操作", unauthorized: "登录已过期，请重新登录", csrf_failed: "页面已过期，请刷新后重试",
    bad_credentials: "用户名或密码错误", busy: "系统繁忙，请稍后重试", database_unavailable: "系统暂时不可用，请稍后重试",
    staff_disabled: "该人员已停用", bad_outcome: "请选择办理结果", bad_deadline: "补正期限有误",
    satisfaction_required: "已联系上的，请选择满意度", already_recorded: "该回访已记录",
    already_appealed: "该评价已申诉", already_decided: "该申诉已复核", not_bad: "只有差评可以申诉",
    no_feedback: "尚无待办事人确认的答复",
    no_show_too_soon: "请先重呼一次，或呼叫满规定时间后再标记过号", not_waiting: "该号票已不在等候中",
    not_your_queue: "该号票不属于本窗口办理的队列",
  };
  const chinese = (s) => /[\u4e00-\u9fff]/.test(s || "");
  async function api(method, path, body, opts = {}) {
    const headers = {"Accept": "application/json"};
    if (opts.token) headers["Authorization"] = "Bearer " + opts.token;
    else if (method !== "GET") headers["X-CSRF-Token"] = csrf;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const r = await fetch(path, {method, headers, credentials: "same-origin",
                                 body: body === undefined ? undefined : JSON.stringify(body)});
    const data = await r.json().catch(() => ({}));
    if (!r.ok) {
      const code = data.error && data.error.code, raw = data.error && data.error.message;
      const err = new Error(chinese(raw) ? raw : (ZH[code] || raw || r.statusText));
      err.status = r.status; err.code = data.error && data.error.code;
      throw err;
    }
    return data;
  }

  /** Connect to Socket.IO and join ``room`` ({hall: id} or {window: id}); ``handlers`` by event name. */
  function live(room, handlers, opts = {}) {
    const auth = opts.token ? {token: opts.token}
      : (cb) => api("POST", "/api/v1/auth/socket-token").then((d) => cb({token: d.token}))
                                                         .catch(() => cb({token: ""}));
    const socket = io({auth, transports: ["websocket", "polling"]});
    socket.on("connect", () => socket.emit("join", room, (ack) => {
      if (ack && ack.error && handlers.error) handlers.error(ack.error);
    }));
    for (const [name, fn] of Object.entries(handlers)) if (name !== "error") socket.on(name, fn);
    socket.on("connect_error", () => handlers.offline && handlers.offline());
    socket.on("disconnect", () => handlers.offline && handlers.offline());
    return socket;
  }

  function el(tag, attrs = {}, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "class") e.className = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else if (v !== null && v !== undefined && v !== false) e.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c.nodeType ? c : String(c));
    return e;
  }

  function since(iso, now = Date.now()) {
    if (!iso) return "";
    const s = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
    const m = Math.floor(s / 60);
    return m >= 60 ? `${Math.floor(m / 60)}小时${m % 60}分` : `${m}分${String(s % 60).padStart(2, "0")}秒`;
  }

  function toast(msg, kind = "info") {
    const box = document.getElementById("toast");
    if (!box) return;
    box.textContent = msg; box.className = "flash flash-" + kind; box.hidden = false;
    clearTimeout(box._t); box._t = setTimeout(() => { box.hidden = true; }, 5000);
  }

  /** Take a toast down at once: a message about a ticket no longer in hand must not linger. */
  function clearToast() {
    const box = document.getElementById("toast");
    if (!box) return;
    clearTimeout(box._t); box.hidden = true; box.textContent = "";
  }

  return {api, live, el, since, toast, clearToast, csrf};
})();
