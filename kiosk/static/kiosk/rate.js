// The visitor's phone rates each finished window of the visit once (扫码评价), and answers whether the
// hall's reply to a bad rating satisfies them (a "no" re-opens the rectification).
import { api } from "/static/ov/api.js";
import { $, el } from "/static/ov/dom.js";

const box = $("rate"), code = box.dataset.code, BAD_MAX = Number(box.dataset.badMax);
const base = "/api/v1/follow/" + encodeURIComponent(code);

function failed(e) {
  if (e.status === 409) return "已评价过，或已超过评价期限。";
  if (!e.status) return "网络不稳定，请稍后再试。";
  return "提交没有成功，请检查网络后再试。";
}

function legCard(leg, d) {
  let chosen = null;
  const card = el("section", { class: "card", "data-ticket": leg.ticket_id },
    el("h2", {}, leg.window_number + "号窗口"), el("p", { class: "sub" }, (leg.items || []).join("、")));
  const scores = el("div", { class: "scores" });
  const reasons = el("div", { class: "reasons", hidden: true },
    Object.keys(d.reasons).map((k) => el("label", {}, el("input", { type: "checkbox", value: k }), el("span", {}, d.reasons[k]))));
  const comment = el("textarea", { rows: "3", maxlength: "500", placeholder: "其他意见或建议（选填）" });
  const error = el("p", { class: "error", hidden: true });
  const submit = el("button", { class: "submit", type: "button", disabled: true }, "提交评价");
  for (const s of [5, 4, 3, 2, 1]) {
    const b = el("button", { type: "button", "data-score": s, "aria-pressed": "false" }, d.scores[s]);
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
      error.textContent = "请选择不满意的原因，或写下您的意见。"; error.hidden = false; return;
    }
    submit.disabled = true;
    api("POST", base + "/rating", { ticket_id: leg.ticket_id, score: chosen, reasons: picked, comment: comment.value.trim() })
      .then(() => {
        card.replaceChildren(el("p", { class: "done" }, "感谢您的评价！"),
          el("p", { class: "sub" }, chosen <= BAD_MAX ? "我们会在规定期限内整改并答复您。" : "欢迎再次监督我们的工作。"));
      }, (e) => { error.textContent = failed(e); error.hidden = false; submit.disabled = false; });
  };
  card.append(scores, reasons, comment, error, submit);
  return card;
}

function answerCard(a) {
  const card = el("section", { class: "card answer", "data-rectification": a.rectification_id },
    el("h2", {}, "对差评整改的答复"), el("p", {}, a.feedback), el("p", { class: "sub" }, "您对这个答复满意吗？"));
  const send = (ok) => api("POST", base + "/rectification-answer", { rectification_id: a.rectification_id, satisfied: ok })
    .then(() => ok ? "感谢您的认可！" : "已收到，我们将重新整改并再次答复您。", failed)
    .then((text) => card.replaceChildren(el("p", { class: "done" }, text)));
  const yes = el("button", { type: "button", onclick: () => send(true) }, "满意");
  const no = el("button", { type: "button", class: "no", onclick: () => send(false) }, "不满意");
  card.append(el("div", { class: "two" }, yes, no));
  return card;
}

api("GET", base + "/rating").then((d) => {
  $("answers").replaceChildren(...d.answers.map(answerCard));
  $("legs").replaceChildren(...d.to_rate.map((leg) => legCard(leg, d)));
  if (!d.to_rate.length) {
    $("empty").textContent = !d.finished ? "办理结束后，可在这里评价本次服务。"
      : d.rated.length ? "您已评价，感谢您的监督！" : "评价期限已过，感谢您的关注。";
    $("empty").hidden = false;
  }
}, (e) => {
  $("empty").textContent = e.status ? "没有找到这张号票。" : "网络不稳定，请稍后刷新。";
  $("empty").hidden = false;
});
