// Live connection of a screen: Socket.IO with the token from the page URL, join a room,
// render the snapshot (it replaces everything), then apply events. Reconnects by itself;
// each reconnect joins again and gets a fresh snapshot, so nothing stale survives a restart.

import { errorText } from "/static/ov/api.js";
import { allEvents, live } from "/static/ov/live.js";

export function pageToken() {
  return new URLSearchParams(window.location.search).get("token") || "";
}

function showFatal(text) {
  const box = document.getElementById("fatal");
  document.getElementById("fatal-text").textContent = text;
  box.hidden = false;
}

function setConnState(state) {
  document.body.dataset.conn = state;
  document.getElementById("conn").hidden = state === "live";
}

export function connectScreen({ join, onSnapshot, onEvent }) {
  const token = pageToken();
  setConnState("connecting");
  if (!token) {
    showFatal("缺少屏幕令牌（?token=）。Missing screen token.");
    return null;
  }
  const socket = live(join, {
    ...allEvents(onEvent),
    snapshot: (snap) => {
      document.getElementById("fatal").hidden = true;
      onSnapshot(snap);
      setConnState("live");
    },
    error: (err) => showFatal(errorText(err.code, err.message, "屏幕无法加入大厅，请联系大厅管理员。")),
    offline: () => setConnState("reconnecting"),
    refused: () => {
      // The server refused the token itself (not a network fault): say so, and try again later
      // in case a technician fixes the token without walking to the screen.
      showFatal("屏幕令牌无效或已吊销，请联系大厅管理员。Invalid or revoked screen token.");
      setTimeout(() => socket.connect(), 30000);
    },
  }, {
    token,
    io: { reconnection: true, reconnectionDelay: 500, reconnectionDelayMax: 2000, randomizationFactor: 0.3, timeout: 5000 },
  });
  window.onevisitSocket = socket;
  return socket;
}

// ---- the clock, corrected by the server's time from each snapshot (a screen PC's clock drifts)
let offsetMs = 0;

export function syncClock(serverTime) {
  const t = Date.parse(serverTime);
  if (!Number.isNaN(t)) offsetMs = t - Date.now();
}

export function serverNow() {
  return new Date(Date.now() + offsetMs);
}

export function startClock(timeZone, { dateEl, timeEl, locale = "zh-CN" }) {
  const dateFmt = new Intl.DateTimeFormat(locale, { timeZone, year: "numeric", month: "long", day: "numeric", weekday: "long" });
  const timeFmt = new Intl.DateTimeFormat(locale, { timeZone, hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
  const tick = () => {
    const now = serverNow();
    if (dateEl) dateEl.textContent = dateFmt.format(now);
    if (timeEl) timeEl.textContent = timeFmt.format(now);
  };
  tick();
  setInterval(tick, 1000);
}
