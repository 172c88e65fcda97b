// Where to wait, from the server's wait_place ([{area, windows: [numbers]}]), shared by the kiosk and the
// phone follow page: "A区 1–6号窗口" / "A区 window 1–6". `t` is the page's translation function, which
// knows wait_at, wait_windows and sep.
export function ranges(ns, sep) {
  const out = [], sorted = ns.slice().sort((a, b) => a - b);
  let i = 0;
  while (i < sorted.length) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    out.push(i === j ? String(sorted[i]) : sorted[i] + "–" + sorted[j]);
    i = j + 1;
  }
  return out.join(sep);
}

export function whereText(places, t) {
  if (!places || !places.length) return "";
  return t("wait_at", { w: places.map((p) => (p.area ? p.area + " " : "") + t("wait_windows", { n: ranges(p.windows, t("sep")) }))
    .join(t("sep")) });
}
