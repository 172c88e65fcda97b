// One translation mechanism for every page with an English mode (kiosk, phone, hall screen, booking,
// complaints): a page's string table {zh: {...}, en: {...}}, "{name}" placeholders, markup marked with
// data-t="key" filled in, and a missing English string falling back to the Chinese one.

export const LANGS = ["zh", "en"];

/** The language a page asks for: ?lang=en|zh first, then the page's default, then the browser's (if asked). */
export function pageLang({ fallback = "zh", browser = false } = {}) {
  const q = new URLSearchParams(window.location.search).get("lang");
  if (LANGS.includes(q)) return q;
  const set = document.documentElement.dataset.lang;
  if (LANGS.includes(set)) return set;
  if (browser) return /^en/i.test(navigator.language || "") ? "en" : "zh";
  return fallback;
}

export function fill(s, vars) {
  let out = String(s);
  for (const [k, v] of Object.entries(vars || {})) out = out.split("{" + k + "}").join(String(v));
  return out;
}

/**
 * createI18n(TABLES, "zh") → {lang, t(key, vars), apply(root), nameOf(x)}; set ``.lang`` to switch.
 * ``apply`` fills every [data-t] element's text and every [data-t-placeholder] input's placeholder.
 */
export function createI18n(tables, lang = "zh") {
  const i18n = {
    lang,
    t(key, vars) {
      const table = tables[i18n.lang] || {};
      return fill(key in table ? table[key] : (key in tables.zh ? tables.zh[key] : key), vars);
    },
    apply(root = document) {
      root.querySelectorAll("[data-t]").forEach((n) => { n.textContent = i18n.t(n.dataset.t); });
      root.querySelectorAll("[data-t-placeholder]").forEach((n) => { n.placeholder = i18n.t(n.dataset.tPlaceholder); });
      if (root === document) document.documentElement.lang = i18n.lang === "en" ? "en" : "zh-CN";
    },
    /** An item's, queue's or bundle's name in the page's language (``name_en`` when there is one). */
    nameOf(x) {
      return i18n.lang === "en" && x && x.name_en ? x.name_en : (x ? x.name : "");
    },
  };
  return i18n;
}
