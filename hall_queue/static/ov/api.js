// JSON API calls for every page. Staff pages send their session cookie and the CSRF header; screens and pads
// send a bearer token; the kiosk sends its agent key. An error answer {"error": {"code", "message"}} becomes
// an Error whose message is Chinese (the code's sentence when the server's message is in English).

import { FOREIGN_TEXT } from "/ov/vocabulary.js";

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
  bad_due_date: "容缺材料的补交期限不能早于今天",
  satisfaction_required: "已联系上的，请选择满意度", already_recorded: "该回访已记录",
  already_appealed: "该评价已申诉", already_decided: "该申诉已复核", not_bad: "只有差评可以申诉",
  no_feedback: "尚无待办事人确认的答复",
  no_show_too_soon: "请先重呼一次，或呼叫满规定时间后再标记过号", not_waiting: "该号票已不在等候中",
  not_your_queue: "该号票不属于本窗口办理的队列",
  not_found: "没有找到", rate_limited: "操作过于频繁，请稍后再试",
  conflict: "与已有记录冲突（编码、编号或用户名可能已被占用）", in_use: "仍在使用中，不能删除或修改",
  validation_error: "填写的内容有误，请检查后重试", invalid: "填写的内容不符合要求，请检查后重试",
};
// What a page says for a refusal it has no sentence for: never the server's English (kept in err.raw).
const REFUSED = "操作未成功";
const NETWORK = "网络连接中断，请稍后重试";

// A plain Chinese sentence: an English phrase, a field name (detail.missing_materials) or a clause number in it
// marks a message for integrators — the server's own rule (front.py's _FOREIGN), from the vocabulary.
const FOREIGN = new RegExp(FOREIGN_TEXT);
const chinese = (s) => /[\u4e00-\u9fff]/.test(s || "") && !FOREIGN.test(s);

/** The CSRF token of a staff page (its <meta name="csrf-token">), or "". */
export function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]')?.content || "";
}

/** The Chinese sentence for an error answer: the server's own when it is Chinese, else the code's. */
export function errorText(code, message, fallback = REFUSED) {
  return chinese(message) ? message : (ZH[code] || fallback);
}

/**
 * Call the JSON API. ``opts.token``: a bearer token; ``opts.headers``: more headers (the kiosk agent key);
 * ``opts.contentType``: send ``body`` as it is (a file, e.g. text/csv) instead of as JSON.
 * Resolves to the answer's JSON; rejects with an Error carrying ``status``, ``code``, ``raw`` (the
 * server's message, for technicians), ``detail`` (the whole error object), a Chinese ``message`` and
 * ``untranslated`` (true when that message is only the generic REFUSED).
 */
export async function api(method, path, body, opts = {}) {
  const headers = { Accept: "application/json", ...(opts.headers || {}) };
  if (opts.token) headers.Authorization = "Bearer " + opts.token;
  else if (method !== "GET" && csrfToken()) headers["X-CSRF-Token"] = csrfToken();
  if (body !== undefined) headers["Content-Type"] = opts.contentType || "application/json";
  const payload = body === undefined ? undefined : opts.contentType ? body : JSON.stringify(body);
  let r;
  try {
    r = await fetch(path, { method, headers, credentials: "same-origin", body: payload });
  } catch (e) {
    const err = new Error(NETWORK);
    err.status = 0; err.code = "network"; err.raw = String(e); err.detail = {};
    throw err;
  }
  const data = await r.json().catch(() => ({}));
  if (!r.ok) {
    const code = data.error?.code, raw = data.error?.message;
    const err = new Error(chinese(raw) ? raw : (ZH[code] || REFUSED));
    err.status = r.status; err.code = code; err.raw = raw; err.detail = data.error || {};
    err.untranslated = !chinese(raw) && !ZH[code];  // the message is only REFUSED: a page may say more
    throw err;
  }
  return data;
}
