// Small page behaviours declared in markup (data-print, data-confirm, data-autosubmit), so that no
// page needs an inline handler under the strict Content-Security-Policy.
import "/static/ov/validity.js";  // the browser's refusals of a field, in Chinese
document.addEventListener("click", (e) => {
  const b = e.target.closest && e.target.closest("[data-print]");
  if (b) { e.preventDefault(); window.print(); }
});
document.addEventListener("submit", (e) => {
  const f = e.target;
  if (f.dataset && f.dataset.confirm && !window.confirm(f.dataset.confirm)) e.preventDefault();
}, true);
document.addEventListener("change", (e) => {
  const t = e.target;
  if (t.dataset && t.dataset.autosubmit !== undefined && t.form) t.form.submit();
});
// A dialog's [data-close] button closes it (templates/admin/_dialog.html).
document.addEventListener("click", (e) => {
  const b = e.target.closest && e.target.closest("dialog [data-close]");
  if (b) b.closest("dialog").close();
});
