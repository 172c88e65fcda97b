/* A field the browser refuses (required, min/max, pattern…) is said in Chinese, in the browser's own bubble beside
   the field: left to the browser, the words are in its language (English on many hall PCs and phones). One rule for
   the staff pages (admin/behaviours.js) and the public ones (complaints, consultations); a page in English keeps
   the browser's own words. */
const REFUSED = [
  ["valueMissing", (f) => (f.type === "date" ? "请选择日期" : f.tagName === "SELECT" || f.type === "checkbox"
    || f.type === "radio" || f.type === "file" ? "请选择此项" : "请填写此项")],
  ["badInput", () => "请填写数字"],
  ["typeMismatch", (f) => (f.type === "url" ? "请填写以 http:// 或 https:// 开头的网址" : "格式不对")],
  ["rangeUnderflow", (f) => `不能小于 ${f.min}`], ["rangeOverflow", (f) => `不能大于 ${f.max}`],
  ["stepMismatch", () => "请填写整数"],
  ["tooShort", (f) => `至少 ${f.minLength} 个字`], ["tooLong", (f) => `至多 ${f.maxLength} 个字`],
  ["patternMismatch", (f) => (f.title ? `格式不对：${f.title}` : "格式不对")],
];
const chinese = () => !document.documentElement.lang || document.documentElement.lang.startsWith("zh");

document.addEventListener("invalid", (e) => {
  const f = e.target;
  if (!chinese() || !f.setCustomValidity || f.validity.customError) return;
  const hit = REFUSED.find(([flag]) => f.validity[flag]);
  if (hit) f.setCustomValidity(hit[1](f));
}, true);
for (const kind of ["input", "change"]) {
  document.addEventListener(kind, (e) => { if (e.target.setCustomValidity) e.target.setCustomValidity(""); }, true);
}
