// The phone pages' language (follow.js, rate.js): English when the phone is set to English, else Chinese.
// ``OVLang.translator(STR)`` gives ``t(key, {name: value})`` over ``STR.zh`` / ``STR.en``; ``apply(t)`` fills
// every element marked ``data-t``.
window.OVLang = (function () {
  var LANG = /^en/i.test(navigator.language || "") ? "en" : "zh";
  document.documentElement.lang = LANG === "en" ? "en" : "zh-CN";
  function translator(STR) {
    return function (key, args) {
      var s = STR[LANG][key] || STR.zh[key] || key;
      Object.keys(args || {}).forEach(function (k) { s = s.split("{" + k + "}").join(String(args[k])); });
      return s;
    };
  }
  function apply(t) {
    document.querySelectorAll("[data-t]").forEach(function (el) { el.textContent = t(el.getAttribute("data-t")); });
  }
  return { lang: LANG, translator: translator, apply: apply };
})();
