// The live connection of every page: Socket.IO with a token, join one or more rooms on every (re)connect,
// a snapshot first, then events. Event names come from the server (/ov/vocabulary.js), never retyped: a
// handler for a name the server does not send is a mistake and throws at once.
import { CONTROL, EVENTS } from "/ov/vocabulary.js";
import { api } from "./api.js";

export { EVENTS };
const HOOKS = ["snapshot", "error", "online", "offline", "refused"];

/**
 * live(rooms, handlers, opts) → the socket.
 * ``rooms``: {hall: id} or {window: id}, or a list of them; ``handlers``: event name → fn(payload), and the
 * hooks ``snapshot`` (fn(snap)), ``error`` (a refused join, fn({code, message})), ``online``, ``offline``
 * and ``refused`` (the server turned the token down itself, not a network fault).
 * ``opts.token``: a screen's or pad's token; without it a staff page asks for a short socket token
 * with its session. ``opts.io``: more Socket.IO client options.
 */
export function live(rooms, handlers, opts = {}) {
  for (const name of Object.keys(handlers)) {
    if (!HOOKS.includes(name) && !(name in EVENTS)) throw new Error(`live(): no Socket.IO event named "${name}"`);
  }
  const list = Array.isArray(rooms) ? rooms : [rooms];
  const auth = opts.token ? { token: opts.token }
    : (cb) => api("POST", "/api/v1/auth/socket-token").then((d) => cb({ token: d.token })).catch(() => cb({ token: "" }));
  const socket = window.io({ auth, transports: ["websocket", "polling"], ...(opts.io || {}) });
  socket.on("connect", () => {
    for (const room of list) {
      socket.emit(CONTROL.join, room, (ack) => { if (ack && ack.error && handlers.error) handlers.error(ack.error); });
    }
    if (handlers.online) handlers.online();
  });
  if (handlers.snapshot) socket.on(CONTROL.snapshot, (snap) => handlers.snapshot(snap || {}));
  for (const [name, fn] of Object.entries(handlers)) {
    if (!HOOKS.includes(name)) socket.on(name, (payload) => fn(payload || {}, name));
  }
  socket.on("disconnect", (reason) => {
    if (handlers.offline) handlers.offline(reason);
    // A disconnect the server asked for is not retried by the client on its own.
    if (reason === "io server disconnect") setTimeout(() => socket.connect(), 1000);
  });
  socket.on("connect_error", () => {
    if (handlers.offline) handlers.offline("connect_error");
    if (!socket.active && handlers.refused) handlers.refused();
  });
  return socket;
}

/** Every event of the server to one function fn(name, payload) (the screens apply them all). */
export function allEvents(fn) {
  const out = {};
  for (const name of Object.keys(EVENTS)) out[name] = (payload) => fn(name, payload);
  return out;
}
