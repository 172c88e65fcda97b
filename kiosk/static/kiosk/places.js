// Where to wait, from the server's wait_place ([{area, windows: [numbers]}]), shared by the kiosk and the
// phone follow page: "A区 1–6号窗口" / "A区 window 1–6". `t` is the page's translation function, which
// knows wait_at, wait_windows and sep.
window.OVPlaces = (function () {
  function ranges(ns, sep) {
    var out = [], i = 0;
    ns = ns.slice().sort(function (a, b) { return a - b; });
    while (i < ns.length) {
      var j = i;
      while (j + 1 < ns.length && ns[j + 1] === ns[j] + 1) j++;
      out.push(i === j ? String(ns[i]) : ns[i] + "–" + ns[j]);
      i = j + 1;
    }
    return out.join(sep);
  }
  function whereText(places, t) {
    if (!places || !places.length) return "";
    return t("wait_at", { w: places.map(function (p) {
      return (p.area ? p.area + " " : "") + t("wait_windows", { n: ranges(p.windows, t("sep")) });
    }).join(t("sep")) });
  }
  return { ranges: ranges, whereText: whereText };
})();
