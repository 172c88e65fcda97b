// Times on pages are the hall's, never the browser's: a clerk's PC or a phone may sit in another zone.

/** "12分05秒" / "1小时3分" since an ISO instant. */
export function since(iso, now = Date.now()) {
  if (!iso) return "";
  const s = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
  const m = Math.floor(s / 60);
  return m >= 60 ? `${Math.floor(m / 60)}小时${m % 60}分` : `${m}分${String(s % 60).padStart(2, "0")}秒`;
}

const formats = new Map();
function format(timeZone, lang, opts) {
  const key = JSON.stringify([timeZone, lang, opts]);
  if (!formats.has(key)) {
    let f;
    try { f = new Intl.DateTimeFormat(lang, { ...opts, timeZone: timeZone || undefined }); }
    catch (e) { f = new Intl.DateTimeFormat(lang, opts); }  // an unknown zone name: the browser's, not a blank
    formats.set(key, f);
  }
  return formats.get(key);
}

/** "14:05" in the hall's time zone. */
export function hallClock(iso, timeZone, { seconds = false, lang = "zh-CN" } = {}) {
  if (!iso) return "";
  const opts = { hour: "2-digit", minute: "2-digit", hourCycle: "h23", ...(seconds ? { second: "2-digit" } : {}) };
  return format(timeZone, lang, opts).format(new Date(iso));
}

/** "2026/12/06 14:05" in the hall's time zone. */
export function hallDateTime(iso, timeZone, { lang = "zh-CN" } = {}) {
  if (!iso) return "";
  return format(timeZone, lang, { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
                                  minute: "2-digit", hourCycle: "h23" }).format(new Date(iso));
}
