/* Shared by staff pages: JSON API calls with the session cookie + CSRF header, and Socket.IO. */
"use strict";
const OV = (() => {
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";

  async function api(method, path, body, opts = {}) {
    const headers = {"Accept": "application/json"};
    if (opts.token) headers["Authorization"] = "Bearer " + opts.token;
    else if (method !== "GET") headers["X-CSRF-Token"] = csrf;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const r = await fetch(path, {method, headers, credentials: "same-origin",
                                 body: body === undefined ? undefined : JSON.stringify(body)});
    const data = await r.json().catch(() => ({}));
    if (!r.ok) {
      const err = new Error((data.error && data.error.message) || r.statusText);
      err.status = r.status; err.code = data.error && data.error.code;
      throw err;
    }
    return data;
  }

  /** Connect to Socket.IO and join ``room`` ({hall: id} or {window: id}); ``handlers`` by event name. */
  function live(room, handlers, opts = {}) {
    const auth = opts.token ? {token: opts.token}
      : (cb) => api("POST", "/api/v1/auth/socket-token").then((d) => cb({token: d.token}))
                                                         .catch(() => cb({token: ""}));
    const socket = io({auth, transports: ["websocket", "polling"]});
    socket.on("connect", () => socket.emit("join", room, (ack) => {
      if (ack && ack.error && handlers.error) handlers.error(ack.error);
    }));
    for (const [name, fn] of Object.entries(handlers)) if (name !== "error") socket.on(name, fn);
    socket.on("connect_error", () => handlers.offline && handlers.offline());
    socket.on("disconnect", () => handlers.offline && handlers.offline());
    return socket;
  }

  function el(tag, attrs = {}, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "class") e.className = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else if (v !== null && v !== undefined && v !== false) e.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c.nodeType ? c : String(c));
    return e;
  }

  function since(iso, now = Date.now()) {
    if (!iso) return "";
    const s = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
    const m = Math.floor(s / 60);
    return m >= 60 ? `${Math.floor(m / 60)}小时${m % 60}分` : `${m}分${String(s % 60).padStart(2, "0")}秒`;
  }

  function toast(msg, kind = "info") {
    const box = document.getElementById("toast");
    if (!box) return;
    box.textContent = msg; box.className = "flash flash-" + kind; box.hidden = false;
    clearTimeout(box._t); box._t = setTimeout(() => { box.hidden = true; }, 5000);
  }

  return {api, live, el, since, toast, csrf};
})();
