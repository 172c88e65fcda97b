// The visitor's phone rates each finished window of the visit once (扫码评价), and answers whether the
// hall's reply to a bad rating satisfies them (a "no" re-opens the rectification).
import { api } from "/static/ov/api.js";
import { $, el } from "/static/ov/dom.js";
import { bilingual, createI18n, pageLang } from "/static/ov/i18n.js";

const box = $("rate"), code = box.dataset.code, BAD_MAX = Number(box.dataset.badMax);
const base = "/api/v1/follow/" + encodeURIComponent(code);
// Every string the page shows, in Chinese and English; the phone's language decides (as on the follow page,
// follow.js). Level and reason words come from the server in both languages.
const STR = bilingual({
  title: ["服务评价", "Rate our service"],
  intro: ["号码 {n}。每个窗口的服务可评价一次，评价将报送政务服务“好差评”平台。", "Ticket {n}. You can rate each window's service once; ratings go to the government service rating platform."],
  window: ["{w}号窗口", "Window {w}"],
  comment: ["其他意见或建议（选填）", "Other comments or suggestions (optional)"],
  submit: ["提交评价", "Send rating"],
  need_reason: ["请选择不满意的原因，或写下您的意见。", "Please pick what went wrong, or write a comment."],
  thanks: ["感谢您的评价！", "Thank you for your rating!"],
  will_fix: ["我们会在规定期限内整改并答复您。", "We will put it right within the set time and reply to you."],
  welcome: ["欢迎再次监督我们的工作。", "Thank you for helping us do better."],
  answer_title: ["对差评整改的答复", "Our reply to your rating"],
  answer_ask: ["您对这个答复满意吗？", "Are you satisfied with this reply?"],
  yes: ["满意", "Satisfied"],
  no: ["不满意", "Not satisfied"],
  answer_yes: ["感谢您的认可！", "Thank you!"],
  answer_no: ["已收到，我们将重新整改并再次答复您。", "Received. We will look into it again and reply to you."],
  already: ["已评价过，或已超过评价期限。", "Already rated, or the time to rate has passed."],
  answered: ["这个答复您已表态过，请刷新页面查看。", "You have already answered this reply. Please refresh the page."],
  failed: ["提交没有成功，请检查网络后再试。", "Could not send. Please check your network and try again."],
  too_often: ["提交过于频繁，请稍后再试。", "Too many tries. Please wait a moment and try again."],
  unstable: ["网络不稳定，请稍后再试。", "Network unstable. Please try again later."],
  not_found: ["没有找到这张号票。", "Ticket not found."],
  not_finished: ["办理结束后，可在这里评价本次服务。", "You can rate the service here once it is finished."],
  rated: ["您已评价，感谢您的监督！", "You have rated. Thank you!"],
  expired: ["评价期限已过，感谢您的关注。", "The time to rate has passed. Thank you."],
  reload: ["网络不稳定，请稍后刷新。", "Network unstable. Please refresh later."],
  sep: ["、", ", "],
});
const i18n = createI18n(STR, pageLang({ browser: true })), t = i18n.t;
document.title = box.dataset.number + " · " + t("title");
i18n.apply();
$("intro").textContent = t("intro", { n: box.dataset.number });

const failed = (e) => t(e.status === 409 ? "already" : e.status === 429 ? "too_often" : e.status ? "failed" : "unstable");
const words = (d, key) => (i18n.lang === "en" && d[key + "_en"] ? d[key + "_en"] : d[key]);

function legCard(leg, d) {
  let chosen = null;
  const card = el("section", { class: "card", "data-ticket": leg.ticket_id },
    el("h2", {}, t("window", { w: leg.window_number })), el("p", { class: "sub" }, (words(leg, "items") || []).join(t("sep"))));
  const scores = el("div", { class: "scores" });
  const reasonWords = words(d, "reasons"), scoreWords = words(d, "scores");
  const reasons = el("div", { class: "reasons", hidden: true },
    Object.keys(d.reasons).map((k) => el("label", {}, el("input", { type: "checkbox", value: k }), el("span", {}, reasonWords[k]))));
  const comment = el("textarea", { rows: "3", maxlength: "500", placeholder: t("comment") });
  const error = el("p", { class: "error", hidden: true });
  const submit = el("button", { class: "submit", type: "button", disabled: true }, t("submit"));
  for (const s of [5, 4, 3, 2, 1]) {
    const b = el("button", { type: "button", "data-score": s, "aria-pressed": "false" }, scoreWords[s]);
    b.onclick = () => {
      chosen = s;
      scores.querySelectorAll("button").forEach((x) => x.setAttribute("aria-pressed", String(x === b)));
      reasons.hidden = s > BAD_MAX;
      submit.disabled = false;
    };
    scores.append(b);
  }
  submit.onclick = () => {
    const picked = chosen <= BAD_MAX ? [...reasons.querySelectorAll("input:checked")].map((i) => i.value) : [];
    if (chosen <= BAD_MAX && !picked.length && !comment.value.trim()) {
      error.textContent = t("need_reason"); error.hidden = false; return;
    }
    submit.disabled = true;
    api("POST", base + "/rating", { ticket_id: leg.ticket_id, score: chosen, reasons: picked, comment: comment.value.trim() })
      .then(() => {
        card.replaceChildren(el("p", { class: "done" }, t("thanks")),
          el("p", { class: "sub" }, t(chosen <= BAD_MAX ? "will_fix" : "welcome")));
      }, (e) => { error.textContent = failed(e); error.hidden = false; submit.disabled = false; });
  };
  card.append(scores, reasons, comment, error, submit);
  return card;
}

function answerCard(a) {
  const card = el("section", { class: "card answer", "data-rectification": a.rectification_id },
    el("h2", {}, t("answer_title")), el("p", {}, a.feedback), el("p", { class: "sub" }, t("answer_ask")));
  const error = el("p", { class: "error", hidden: true });
  // A second tap while the first answer is on its way would come back 409 and overwrite the thanks; a refusal
  // or a lost connection is said in red, with both buttons back, so the visitor can answer again.
  const send = (ok) => {
    yes.disabled = no.disabled = true;
    error.hidden = true;
    api("POST", base + "/rectification-answer", { rectification_id: a.rectification_id, satisfied: ok }).then(
      () => card.replaceChildren(el("p", { class: "done" }, t(ok ? "answer_yes" : "answer_no"))),
      (e) => {
        error.textContent = e.status === 409 ? t("answered") : failed(e); error.hidden = false;
        yes.disabled = no.disabled = false;
      });
  };
  const yes = el("button", { type: "button", onclick: () => send(true) }, t("yes"));
  const no = el("button", { type: "button", class: "no", onclick: () => send(false) }, t("no"));
  card.append(el("div", { class: "two" }, yes, no), error);
  return card;
}

api("GET", base + "/rating").then((d) => {
  $("answers").replaceChildren(...d.answers.map(answerCard));
  $("legs").replaceChildren(...d.to_rate.map((leg) => legCard(leg, d)));
  if (!d.to_rate.length) {
    $("empty").textContent = t(!d.finished ? "not_finished" : d.rated.length ? "rated" : "expired");
    $("empty").hidden = false;
  }
}, (e) => {
  $("empty").textContent = t(e.status ? "not_found" : "reload");
  $("empty").hidden = false;
});
