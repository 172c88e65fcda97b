// The visitor's phone rates each finished window of the visit once (扫码评价), and answers whether the
// hall's reply to a bad rating satisfies them (a "no" re-opens the rectification).
(function () {
  "use strict";
  var box = document.getElementById("rate"), code = box.dataset.code, BAD_MAX = Number(box.dataset.badMax);
  var base = "/api/v1/follow/" + encodeURIComponent(code);
  function $(id) { return document.getElementById(id); }
  // Every string the page shows, in Chinese and English; the phone's language decides (as on the follow page,
  // follow.js). Level and reason words come from the server in both languages.
  var STR = {
    zh: {
      title: "服务评价", intro: "号码 {n}。每个窗口的服务可评价一次，评价将报送政务服务“好差评”平台。",
      window: "{w}号窗口", comment: "其他意见或建议（选填）", submit: "提交评价",
      need_reason: "请选择不满意的原因，或写下您的意见。", thanks: "感谢您的评价！",
      will_fix: "我们会在规定期限内整改并答复您。", welcome: "欢迎再次监督我们的工作。",
      answer_title: "对差评整改的答复", answer_ask: "您对这个答复满意吗？", yes: "满意", no: "不满意",
      answer_yes: "感谢您的认可！", answer_no: "已收到，我们将重新整改并再次答复您。",
      already: "已评价过，或已超过评价期限。", failed: "提交没有成功，请检查网络后再试。",
      unstable: "网络不稳定，请稍后再试。", not_found: "没有找到这张号票。",
      not_finished: "办理结束后，可在这里评价本次服务。", rated: "您已评价，感谢您的监督！",
      expired: "评价期限已过，感谢您的关注。", reload: "网络不稳定，请稍后刷新。", sep: "、"
    },
    en: {
      title: "Rate our service", intro: "Ticket {n}. You can rate each window's service once; ratings go to the government service rating platform.",
      window: "Window {w}", comment: "Other comments or suggestions (optional)", submit: "Send rating",
      need_reason: "Please pick what went wrong, or write a comment.", thanks: "Thank you for your rating!",
      will_fix: "We will put it right within the set time and reply to you.", welcome: "Thank you for helping us do better.",
      answer_title: "Our reply to your rating", answer_ask: "Are you satisfied with this reply?", yes: "Satisfied", no: "Not satisfied",
      answer_yes: "Thank you!", answer_no: "Received. We will look into it again and reply to you.",
      already: "Already rated, or the time to rate has passed.", failed: "Could not send. Please check your network and try again.",
      unstable: "Network unstable. Please try again later.", not_found: "Ticket not found.",
      not_finished: "You can rate the service here once it is finished.", rated: "You have rated. Thank you!",
      expired: "The time to rate has passed. Thank you.", reload: "Network unstable. Please refresh later.", sep: ", "
    }
  };
  var LANG = window.OVLang.lang, t = window.OVLang.translator(STR);
  document.title = box.dataset.number + " · " + t("title");
  window.OVLang.apply(t);
  $("intro").textContent = t("intro", { n: box.dataset.number });
  function el(tag, attrs, children) {
    var n = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { if (k === "text") n.textContent = attrs[k]; else n.setAttribute(k, attrs[k]); });
    (children || []).forEach(function (c) { n.appendChild(c); });
    return n;
  }
  function post(path, body) {
    return fetch(base + path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })
      .then(function (r) { return r.json().then(function (d) { return { ok: r.ok, status: r.status, data: d }; }); });
  }
  function failed(res) { return t(res.status === 409 ? "already" : "failed"); }
  function words(d, key) { return LANG === "en" && d[key + "_en"] ? d[key + "_en"] : d[key]; }

  function legCard(leg, d) {
    var chosen = null;
    var card = el("section", { "class": "card", "data-ticket": leg.ticket_id });
    card.appendChild(el("h2", { text: t("window", { w: leg.window_number }) }));
    card.appendChild(el("p", { "class": "sub", text: (words(leg, "items") || []).join(t("sep")) }));
    var scores = el("div", { "class": "scores" });
    var reasons = el("div", { "class": "reasons", hidden: "" });
    var reasonWords = words(d, "reasons"), scoreWords = words(d, "scores");
    Object.keys(d.reasons).forEach(function (k) {
      reasons.appendChild(el("label", {}, [el("input", { type: "checkbox", value: k }), el("span", { text: reasonWords[k] })]));
    });
    var comment = el("textarea", { rows: "3", maxlength: "500", placeholder: t("comment") });
    var error = el("p", { "class": "error", hidden: "" });
    var submit = el("button", { "class": "submit", type: "button", disabled: "", text: t("submit") });
    [5, 4, 3, 2, 1].forEach(function (s) {
      var b = el("button", { type: "button", "data-score": s, "aria-pressed": "false", text: scoreWords[s] });
      b.onclick = function () {
        chosen = s;
        scores.querySelectorAll("button").forEach(function (x) { x.setAttribute("aria-pressed", String(x === b)); });
        reasons.hidden = s > BAD_MAX;
        submit.disabled = false;
      };
      scores.appendChild(b);
    });
    submit.onclick = function () {
      var picked = chosen <= BAD_MAX ? Array.prototype.map.call(reasons.querySelectorAll("input:checked"), function (i) { return i.value; }) : [];
      if (chosen <= BAD_MAX && !picked.length && !comment.value.trim()) {
        error.textContent = t("need_reason"); error.hidden = false; return;
      }
      submit.disabled = true;
      post("/rating", { ticket_id: leg.ticket_id, score: chosen, reasons: picked, comment: comment.value.trim() })
        .then(function (res) {
          if (!res.ok) { error.textContent = failed(res); error.hidden = false; submit.disabled = false; return; }
          card.replaceChildren(el("p", { "class": "done", text: t("thanks") }),
            el("p", { "class": "sub", text: t(chosen <= BAD_MAX ? "will_fix" : "welcome") }));
        }).catch(function () { error.textContent = t("unstable"); error.hidden = false; submit.disabled = false; });
    };
    card.appendChild(scores); card.appendChild(reasons); card.appendChild(comment); card.appendChild(error); card.appendChild(submit);
    return card;
  }

  function answerCard(a) {
    var card = el("section", { "class": "card answer", "data-rectification": a.rectification_id });
    card.appendChild(el("h2", { text: t("answer_title") }));
    card.appendChild(el("p", { text: a.feedback }));
    card.appendChild(el("p", { "class": "sub", text: t("answer_ask") }));
    var yes = el("button", { type: "button", text: t("yes") }), no = el("button", { type: "button", "class": "no", text: t("no") });
    function send(ok) {
      post("/rectification-answer", { rectification_id: a.rectification_id, satisfied: ok }).then(function (res) {
        card.replaceChildren(el("p", { "class": "done", text: res.ok ? t(ok ? "answer_yes" : "answer_no") : failed(res) }));
      });
    }
    yes.onclick = function () { send(true); }; no.onclick = function () { send(false); };
    card.appendChild(el("div", { "class": "two" }, [yes, no]));
    return card;
  }

  fetch(base + "/rating").then(function (r) { return r.ok ? r.json() : null; }).then(function (d) {
    if (!d) { $("empty").textContent = t("not_found"); $("empty").hidden = false; return; }
    $("answers").replaceChildren.apply($("answers"), d.answers.map(answerCard));
    $("legs").replaceChildren.apply($("legs"), d.to_rate.map(function (leg) { return legCard(leg, d); }));
    if (!d.to_rate.length) {
      $("empty").textContent = t(!d.finished ? "not_finished" : d.rated.length ? "rated" : "expired");
      $("empty").hidden = false;
    }
  }).catch(function () { $("empty").textContent = t("reload"); $("empty").hidden = false; });
})();
