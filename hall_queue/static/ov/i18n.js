// One translation mechanism for every page with an English mode (kiosk, phone, hall screens, booking,
// complaints): a page's string table {zh: {...}, en: {...}}, "{name}" placeholders, markup marked with
// data-t="key" filled in, and a missing English string falling back to the Chinese one. A hall screen may
// also run bilingual ("bi": Chinese, then English).

export const LANGS = ["zh", "en"];

/** The language a page asks for: ?lang= first, then <html data-lang>, then the browser's (if asked). */
export function pageLang({ fallback = "zh", browser = false, allowed = LANGS } = {}) {
  const q = new URLSearchParams(window.location.search).get("lang");
  if (allowed.includes(q)) return q;
  const set = document.documentElement.dataset.lang;
  if (allowed.includes(set)) return set;
  if (browser) return /^en/i.test(navigator.language || "") ? "en" : "zh";
  return fallback;
}

/**
 * A string table written one key a line, its Chinese and English side by side ({key: [zh, en]}), as the
 * {zh: {...}, en: {...}} tables createI18n reads; ``null`` leaves a language out (English falls back to Chinese).
 */
export function bilingual(pairs) {
  const zh = {}, en = {};
  for (const [key, [z, e]] of Object.entries(pairs)) {
    if (z !== null) zh[key] = z;
    if (e !== null) en[key] = e;
  }
  return { zh, en };
}

export function fill(s, vars) {
  let out = String(s);
  for (const [k, v] of Object.entries(vars || {})) out = out.split("{" + k + "}").join(String(v));
  return out;
}

/**
 * createI18n(TABLES, "zh") → {lang, t(key, vars), both(key, vars), apply(root), nameOf(x)}; set ``.lang``
 * to switch. ``apply`` fills every [data-t] element's text and every [data-t-placeholder] input's
 * placeholder. In "bi", ``t`` gives the Chinese and the English string one after the other (``both``, with
 ``sep`` between them: a space, or a line break a page shows as a smaller English line).
 */
export function createI18n(tables, lang = "zh") {
  const one = (l, key, vars) => {
    const table = tables[l] || {};
    return fill(key in table ? table[key] : (key in tables.zh ? tables.zh[key] : key), vars);
  };
  const i18n = {
    lang,
    sep: " ",
    t(key, vars) {
      return i18n.lang === "bi" ? i18n.both(key, vars, i18n.sep) : one(i18n.lang, key, vars);
    },
    both(key, vars, sep = " ") {
      const zh = one("zh", key, vars), en = one("en", key, vars);
      return zh === en || !en ? zh : `${zh}${sep}${en}`;
    },
    apply(root = document) {
      root.querySelectorAll("[data-t]").forEach((n) => { n.textContent = i18n.t(n.dataset.t); });
      root.querySelectorAll("[data-t-placeholder]").forEach((n) => { n.placeholder = i18n.t(n.dataset.tPlaceholder); });
      if (root === document) document.documentElement.lang = i18n.lang === "en" ? "en" : "zh-CN";
    },
    /** An item's, queue's or bundle's name in the page's language (``name_en`` when there is one). */
    nameOf(x) {
      if (!x) return "";
      if (i18n.lang === "bi" && x.name_en) return `${x.name}${i18n.sep}${x.name_en}`;
      return i18n.lang === "en" && x.name_en ? x.name_en : x.name;
    },
  };
  return i18n;
}
