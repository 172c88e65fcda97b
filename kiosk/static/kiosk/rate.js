// The visitor's phone rates each finished window of the visit once (扫码评价), and answers whether the
// hall's reply to a bad rating satisfies them (a "no" re-opens the rectification).
(function () {
  "use strict";
  var box = document.getElementById("rate"), code = box.dataset.code, BAD_MAX = Number(box.dataset.badMax);
  var base = "/api/v1/follow/" + encodeURIComponent(code);
  function $(id) { return document.getElementById(id); }
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
  function failed(res) {
    if (res.status === 409) return "已评价过，或已超过评价期限。";
    return "提交没有成功，请检查网络后再试。";
  }

  function legCard(leg, d) {
    var chosen = null;
    var card = el("section", { "class": "card", "data-ticket": leg.ticket_id });
    card.appendChild(el("h2", { text: leg.window_number + "号窗口" }));
    card.appendChild(el("p", { "class": "sub", text: (leg.items || []).join("、") }));
    var scores = el("div", { "class": "scores" });
    var reasons = el("div", { "class": "reasons", hidden: "" });
    Object.keys(d.reasons).forEach(function (k) {
      reasons.appendChild(el("label", {}, [el("input", { type: "checkbox", value: k }), el("span", { text: d.reasons[k] })]));
    });
    var comment = el("textarea", { rows: "3", maxlength: "500", placeholder: "其他意见或建议（选填）" });
    var error = el("p", { "class": "error", hidden: "" });
    var submit = el("button", { "class": "submit", type: "button", disabled: "", text: "提交评价" });
    [5, 4, 3, 2, 1].forEach(function (s) {
      var b = el("button", { type: "button", "data-score": s, "aria-pressed": "false", text: d.scores[s] });
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
        error.textContent = "请选择不满意的原因，或写下您的意见。"; error.hidden = false; return;
      }
      submit.disabled = true;
      post("/rating", { ticket_id: leg.ticket_id, score: chosen, reasons: picked, comment: comment.value.trim() })
        .then(function (res) {
          if (!res.ok) { error.textContent = failed(res); error.hidden = false; submit.disabled = false; return; }
          card.replaceChildren(el("p", { "class": "done", text: "感谢您的评价！" }),
            el("p", { "class": "sub", text: chosen <= BAD_MAX ? "我们会在规定期限内整改并答复您。" : "欢迎再次监督我们的工作。" }));
        }).catch(function () { error.textContent = "网络不稳定，请稍后再试。"; error.hidden = false; submit.disabled = false; });
    };
    card.appendChild(scores); card.appendChild(reasons); card.appendChild(comment); card.appendChild(error); card.appendChild(submit);
    return card;
  }

  function answerCard(a) {
    var card = el("section", { "class": "card answer", "data-rectification": a.rectification_id });
    card.appendChild(el("h2", { text: "对差评整改的答复" }));
    card.appendChild(el("p", { text: a.feedback }));
    card.appendChild(el("p", { "class": "sub", text: "您对这个答复满意吗？" }));
    var yes = el("button", { type: "button", text: "满意" }), no = el("button", { type: "button", "class": "no", text: "不满意" });
    function send(ok) {
      post("/rectification-answer", { rectification_id: a.rectification_id, satisfied: ok }).then(function (res) {
        card.replaceChildren(el("p", { "class": "done", text: res.ok ? (ok ? "感谢您的认可！" : "已收到，我们将重新整改并再次答复您。") : failed(res) }));
      });
    }
    yes.onclick = function () { send(true); }; no.onclick = function () { send(false); };
    card.appendChild(el("div", { "class": "two" }, [yes, no]));
    return card;
  }

  fetch(base + "/rating").then(function (r) { return r.ok ? r.json() : null; }).then(function (d) {
    if (!d) { $("empty").textContent = "没有找到这张号票。"; $("empty").hidden = false; return; }
    $("answers").replaceChildren.apply($("answers"), d.answers.map(answerCard));
    $("legs").replaceChildren.apply($("legs"), d.to_rate.map(function (leg) { return legCard(leg, d); }));
    if (!d.to_rate.length) {
      $("empty").textContent = !d.finished ? "办理结束后，可在这里评价本次服务。"
        : d.rated.length ? "您已评价，感谢您的监督！" : "评价期限已过，感谢您的关注。";
      $("empty").hidden = false;
    }
  }).catch(function () { $("empty").textContent = "网络不稳定，请稍后刷新。"; $("empty").hidden = false; });
})();
