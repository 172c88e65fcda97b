// The announcement queue: chime, then the call spoken twice, one announcement at a time.
// Calls never overlap: a new call waits in `queue` until the one in `current` has finished.
// Exposed as window.onevisitAnnouncer so tests (and a curious technician) can read `history`.
import { displayText, spokenText } from "./speech.js";

// At peak the queue must not fall behind: a call that others wait behind is said once, in the short
// form, without a chime between calls of the same burst; a call alone is chimed and said twice.
// Every call stays on screen at least HOLD_MS, so each number is seen large.
const HOLD_MS = 3000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function withTimeout(promise, ms) {
  return Promise.race([promise, sleep(ms).then(() => "timeout")]);
}

export class Announcer {
  constructor({ enabled = true, voiceUrl, token, repeats = 2, onStart = () => {}, onUpdate = () => {}, onEnd = () => {} }) {
    this.enabled = enabled;
    this.voiceUrl = voiceUrl;
    this.token = token;
    this.repeats = repeats;
    this.onStart = onStart;
    this.onEnd = onEnd;
    this.onUpdate = onUpdate;
    this.queue = [];
    this.history = [];
    this.current = null;
    this.method = null;        // "speech" | "audio" | "text", decided on the first announcement
    this._audioCache = new Map();
    this._busy = false;
    this._ctx = null;
  }

  announce({ number, windowNumber, kind = "call", ticketId = null }) {
    const entry = {
      kind, number, window_number: windowNumber, ticket_id: ticketId,
      text: displayText(number, windowNumber), spoken: spokenText(number, windowNumber),
      short: spokenText(number, windowNumber, { short: true }),
      queued_at: Date.now(), started_at: null, ended_at: null, method: null, chime: false, spoken_times: 0,
      behind: 0,
    };
    this.queue.push(entry);
    this._pump();
    return entry;
  }

  // Keep only announcements that are still true (after a snapshot, e.g. a server restart):
  // a queued call for a ticket that is no longer called is dropped, one being spoken is cut short.
  retain(stillValid) {
    const dropped = this.queue.filter((e) => !stillValid(e));
    this.queue = this.queue.filter((e) => stillValid(e));
    for (const e of dropped) this.history.push({ ...e, cancelled: true });
    if (this.current && !stillValid(this.current)) this._cancel();
  }

  _cancel() {
    if (!this.current) return;
    this.current.cancelled = true;
    if (this._audio) this._audio.pause();
    if ("speechSynthesis" in window) speechSynthesis.cancel();
    if (this._cancelNow) this._cancelNow("cancelled");
  }

  _wait(ms) {
    return Promise.race([sleep(ms), this._cancelled]);
  }

  async _pump() {
    if (this._busy) return;
    this._busy = true;
    try {
      while (this.queue.length) {
        const entry = this.queue.shift();
        this.current = entry;
        this._cancelled = new Promise((r) => { this._cancelNow = r; });
        entry.started_at = Date.now();
        entry.behind = this.queue.filter((e) => e.ticket_id !== entry.ticket_id).length;  // the voice's lag
        this.onStart(entry);
        try {
          await this._play(entry);
        } catch (e) {
          entry.error = String(e);
        }
        entry.ended_at = Date.now();
        this.history.push(entry);
        if (this.history.length > 100) this.history.shift();
        this.current = null;
        this._lastEnded = Date.now();
        this._lastTicket = entry.ticket_id;
        this.onEnd(entry, this.queue.length > 0);
        await sleep(this.queue.length ? 150 : 400);
      }
    } finally {
      this._busy = false;
    }
  }

  async _play(entry) {
    const shownUntil = entry.started_at + HOLD_MS;
    if (!this.enabled) {
      entry.method = "off";
      await this._wait(HOLD_MS);
      return;
    }
    // Other visitors' calls waiting: this one is said once, short. A recall of the same ticket does not count.
    const others = () => this.queue.some((e) => e.ticket_id !== entry.ticket_id);
    const burst = this._lastEnded && Date.now() - this._lastEnded < 1000 && this._lastTicket !== entry.ticket_id;
    entry.chime = burst ? false : await this._chime();
    entry.method = await this._chooseMethod();
    this.onUpdate(entry);
    for (let i = 0; i < this.repeats && !entry.cancelled; i++) {
      if (i > 0 && entry.spoken_times > 0 && others()) break;
      const words = others() ? entry.short : entry.spoken;
      let ok = true;
      if (entry.method === "speech") ok = await this._speak(words);
      else if (entry.method === "audio") ok = await this._playWav(entry, words);
      if (entry.cancelled) break;
      if (!ok) {
        // Never silent without the text: a broken voice falls back to the server's WAV for good,
        // a failed WAV (espeak-ng missing, network cut) shows the text for this call only.
        if (entry.method === "speech") this.method = "audio";
        entry.method = entry.method === "speech" ? "audio" : "text";
        this.onUpdate(entry);
        i -= 1;
        continue;
      }
      if (entry.method === "text") await this._wait(3000);
      if (entry.cancelled) break;
      entry.spoken_times += 1;
      if (i + 1 < this.repeats && !others()) await this._wait(600);
    }
    const left = shownUntil - Date.now();
    if (left > 0 && !entry.cancelled) await this._wait(left);
  }

  // ---- chime: two falling tones made with WebAudio (no file to ship)
  async _chime() {
    try {
      const Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return false;
      this._ctx = this._ctx || new Ctx();
      const ctx = this._ctx;
      if (ctx.state !== "running") await withTimeout(ctx.resume(), 300);
      if (ctx.state !== "running") return false;
      const t0 = ctx.currentTime + 0.02;
      [[659.25, 0], [523.25, 0.38]].forEach(([freq, at]) => {
        const osc = ctx.createOscillator();
        const gain = ctx.createGain();
        osc.type = "sine";
        osc.frequency.value = freq;
        gain.gain.setValueAtTime(0.0001, t0 + at);
        gain.gain.exponentialRampToValueAtTime(0.5, t0 + at + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, t0 + at + 0.6);
        osc.connect(gain).connect(ctx.destination);
        osc.start(t0 + at);
        osc.stop(t0 + at + 0.65);
      });
      await sleep(1050);
      return true;
    } catch (e) {
      return false;
    }
  }

  // ---- speech synthesis with a zh-CN voice, when the browser has one
  async _zhVoice() {
    if (!("speechSynthesis" in window)) return null;
    let voices = speechSynthesis.getVoices();
    if (!voices.length) {
      await withTimeout(new Promise((r) => speechSynthesis.addEventListener("voiceschanged", r, { once: true })), 1000);
      voices = speechSynthesis.getVoices();
    }
    return voices.find((v) => /^zh[-_]CN/i.test(v.lang)) || voices.find((v) => /^(zh|cmn)/i.test(v.lang)) || null;
  }

  async _chooseMethod() {
    if (this.method) return this.method;
    this._voice = await this._zhVoice();
    this.method = this._voice ? "speech" : "audio";
    return this.method;
  }

  async _speak(text) {
    const u = new SpeechSynthesisUtterance(text);
    u.lang = "zh-CN";
    u.voice = this._voice;
    u.rate = 0.9;
    const done = new Promise((resolve) => {
      u.onend = () => resolve(true);
      u.onerror = () => resolve(false);
    });
    speechSynthesis.speak(u);
    const r = await withTimeout(Promise.race([done, this._cancelled]), 2000 + text.length * 500);
    if (r === "timeout") speechSynthesis.cancel();
    return r === true;
  }

  // ---- server-rendered WAV (espeak-ng) where the browser has no Chinese voice
  async _wavUrl(spoken) {
    if (this._audioCache.has(spoken)) return this._audioCache.get(spoken);
    // The token goes in a header, never in the URL (it would reach access logs).
    const url = `${this.voiceUrl}?text=${encodeURIComponent(spoken)}`;
    const resp = await fetch(url, { headers: { Authorization: `Bearer ${this.token}` } });
    if (!resp.ok) {
      let code = `http_${resp.status}`;
      try { code = (await resp.json()).error.code; } catch (e) { /* not JSON */ }
      throw new Error(code);
    }
    const blobUrl = URL.createObjectURL(await resp.blob());
    this._audioCache.set(spoken, blobUrl);
    if (this._audioCache.size > 50) {
      const [oldKey, oldUrl] = this._audioCache.entries().next().value;
      URL.revokeObjectURL(oldUrl);
      this._audioCache.delete(oldKey);
    }
    return blobUrl;
  }

  async _playWav(entry, words) {
    try {
      const src = await this._wavUrl(words || entry.spoken);
      const audio = new Audio(src);
      this._audio = audio;
      const ended = new Promise((resolve) => {
        audio.onended = () => resolve(true);
        audio.onerror = () => resolve(false);
      });
      await audio.play();
      const limit = Number.isFinite(audio.duration) && audio.duration > 0 ? audio.duration * 1000 + 1500 : 8000;
      const r = await withTimeout(Promise.race([ended, this._cancelled]), limit);
      if (r === "timeout") audio.pause();
      this._audio = null;
      return r !== false;
    } catch (e) {
      entry.error = String(e.message || e);
      return false;
    }
  }
}
