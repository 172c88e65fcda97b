// DOM helpers shared by every page: look-ups, element building without innerHTML, escaping, the page's
// JSON data block, and the toast line of staff pages.

export const $ = (id) => document.getElementById(id);

/** The page's data block (<script id="page-data" type="application/json">), parsed. */
export function pageData(id = "page-data") {
  const node = document.getElementById(id);
  return node ? JSON.parse(node.textContent) : {};
}

/** el("button", {class: "x", onclick: fn, disabled: true}, "text", child…): text is never parsed as HTML. */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on") && typeof v === "function") e.addEventListener(k.slice(2), v);
    else if (v !== null && v !== undefined && v !== false) e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) e.append(c.nodeType ? c : String(c));
  return e;
}

/** Text made safe for the few templates still written as HTML strings. */
export function esc(s) {
  return String(s == null ? "" : s).replace(/[&<>"']/g, (c) => "&#" + c.charCodeAt(0) + ";");
}

export function toast(msg, kind = "info") {
  const box = document.getElementById("toast");
  if (!box) return;
  box.textContent = msg; box.className = "flash flash-" + kind; box.hidden = false;
  clearTimeout(box._t); box._t = setTimeout(() => { box.hidden = true; }, 5000);
}

/** Take a toast down at once: a message about a ticket no longer in hand must not linger. */
export function clearToast() {
  const box = document.getElementById("toast");
  if (!box) return;
  clearTimeout(box._t); box.hidden = true; box.textContent = "";
}
