// The announcement queue: chime, then the call spoken, one announcement at a time.
// Calls never overlap: a new call waits in `queue` until the one in `current` has finished.
// Exposed as window.onevisitAnnouncer so tests (and a curious technician) can read `history`.
import { displayText, spokenText } from "./speech.js";

// At peak (twelve windows calling within seconds) the voice must never fall more than one announcement
// behind the clerks (issue 21 §2). So at most ONE announcement ever waits: a call made while another one
// already waits joins it (merged); a call made while the announcement in hand has not begun to speak yet
// (its chime) joins that one. A merged announcement shows all its numbers large at once and says each
// once: the first "请A零零六号到一号窗口", every other "A零零七，二号窗口", a little faster, no chime between
// the calls of a burst. A call alone is chimed and said in full, and repeated only when nothing else waits.
// Every call stays on screen at least HOLD_MS, so each number is seen large; the big numbers, the caption
// and the voice are always the same call(s).
const HOLD_MS = 3000;
// A merged announcement is said this much faster (the browser keeps the pitch); from BRISK_FROM calls on, faster still.
const MERGED_RATE = 1.2;
const BRISK_FROM = 4;
const BRISK_RATE = 1.5;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function withTimeout(promise, ms) {
  return Promise.race([promise, sleep(ms).then(() => "timeout")]);
}

function makeCall({ number, windowNumber, kind = "call", ticketId = null }) {
  return { kind, number, window_number: windowNumber, ticket_id: ticketId, text: displayText(number, windowNumber),
           spoken: spokenText(number, windowNumber), short: spokenText(number, windowNumber, { short: true }),
           terse: spokenText(number, windowNumber, { terse: true }), queued_at: Date.now(), shown_at: null };
}

export class Announcer {
  constructor({ enabled = true, voiceUrl, token, repeats = 2, onStart = () => {}, onUpdate = () => {}, onClause = () => {},
                onEnd = () => {} }) {
    this.enabled = enabled;
    this.voiceUrl = voiceUrl;
    this.token = token;
    this.repeats = repeats;
    this.onStart = onStart;
    this.onEnd = onEnd;
    this.onUpdate = onUpdate;
    this.onClause = onClause;  // (entry, i): the i-th call of the announcement is being said now (WAV voice only)
    this.queue = [];           // at most one entry waits (merged calls)
    this.history = [];
    this.current = null;
    this.method = null;        // "speech" | "audio" | "text", decided on the first announcement
    this.maxWaiting = 0;       // the most announcements that ever waited behind the voice (never above 1)
    this._audioCache = new Map();
    this._busy = false;
    this._ctx = null;
  }

  announce(call) {
    const c = makeCall(call);
    const has = (entry) => c.ticket_id !== null && entry.calls.some((x) => x.ticket_id === c.ticket_id);
    const join = (entry) => {
      // A window's newer call replaces its older one.
      entry.calls = entry.calls.filter((x) => x.window_number !== c.window_number).concat([c]);
      this._describe(entry);
      this._prefetch(entry);
    };
    const current = this.current;
    if (current && current.open && !has(current) && !this.queue.length) {
      // Nothing said yet (the chime is playing): the call is shown large and said with this announcement.
      join(current);
      c.shown_at = Date.now();
      current.joined = (current.joined || 0) + 1;
      this.onStart(current);
      return current;
    }
    const waiting = this.queue[0];
    if (waiting) {
      // A recall of a call already waiting changes nothing.
      if (!has(waiting)) join(waiting);
      return waiting;
    }
    const entry = this._describe({ calls: [c], queued_at: c.queued_at, started_at: null, ended_at: null, method: null,
                                   chime: false, spoken_times: 0, behind: 0 });
    this.queue.push(entry);
    this.maxWaiting = Math.max(this.maxWaiting, this.queue.length);
    if (this.current) this._prefetch(entry);
    this._pump();
    return entry;
  }

  // The entry's own fields (number, text, …) are those of its first call; `calls` lists them all.
  _describe(entry) {
    const first = entry.calls[0];
    Object.assign(entry, { kind: first.kind, number: first.number, window_number: first.window_number,
                           ticket_id: first.ticket_id, text: entry.calls.map((c) => c.text).join("；"),
                           spoken: first.spoken, short: first.short, merged: entry.calls.length });
    return entry;
  }

  // Keep only announcements that are still true (after a snapshot, e.g. a server restart):
  // a queued call for a ticket that is no longer called is dropped; in the announcement being said such a
  // call is skipped (marked `dropped`), and the announcement is cut short when none of its calls is left.
  retain(stillValid) {
    for (const e of this.queue) {
      const gone = e.calls.filter((c) => !stillValid(c));
      if (!gone.length) continue;
      e.calls = e.calls.filter((c) => stillValid(c));
      for (const c of gone) this.history.push({ ...c, cancelled: true });
      if (e.calls.length) this._describe(e);
    }
    this.queue = this.queue.filter((e) => e.calls.length);
    if (!this.current) return;
    const live = this.current.calls.filter((c) => !c.dropped && stillValid(c));
    if (!live.length) this._cancel();
    else this.current.calls.forEach((c) => { if (!live.includes(c)) c.dropped = true; });
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
        entry.calls.forEach((c) => { c.shown_at = entry.started_at; });
        entry.open = this.enabled;         // until its first word, a call made meanwhile joins it
        entry.behind = this.queue.length;  // announcements still waiting behind this one: the voice's lag
        this.onStart(entry);
        try {
          await this._play(entry);
        } catch (e) {
          entry.error = String(e);
        }
        entry.open = false;
        entry.ended_at = Date.now();
        this.history.push(entry);
        if (this.history.length > 100) this.history.shift();
        this.current = null;
        this._lastEnded = Date.now();
        this._lastTickets = new Set(entry.calls.map((c) => c.ticket_id));
        this.onEnd(entry, this.queue.length > 0);
        await sleep(this.queue.length ? 150 : 400);
      }
    } finally {
      this._busy = false;
    }
  }

  // What to say: one call in full (short when others wait); several: the first short, the others terse.
  _words(entry, othersWaiting) {
    const calls = entry.calls;
    if (calls.length === 1) return [othersWaiting ? calls[0].short : calls[0].spoken];
    return calls.map((c, i) => (i > 0 ? c.terse : c.short));
  }

  // Render a waiting announcement's WAVs while another one is being said, so it starts without a gap.
  _prefetch(entry) {
    if (this.method !== "audio" || !this.enabled) return;
    for (const w of this._words(entry, false)) {
      this._wavUrl(w).catch(() => {});
    }
  }

  async _play(entry) {
    const shownUntil = () => Math.max(...entry.calls.map((c) => c.shown_at || entry.started_at)) + HOLD_MS;
    if (!this.enabled) {
      entry.method = "off";
      await this._wait(HOLD_MS);
      return;
    }
    // Other visitors' calls waiting: this one is said once, short. A recall of the same ticket does not count.
    const others = () => this.queue.some((e) => e.calls.some((c) => !entry.calls.some((x) => x.ticket_id === c.ticket_id)));
    const burst = this._lastEnded && Date.now() - this._lastEnded < 1000
      && !entry.calls.every((c) => this._lastTickets.has(c.ticket_id));
    // The method is decided, and the WAVs fetched, while the chime plays.
    const method = this._chooseMethod().then((m) => { this._prefetch(entry); return m; });
    entry.chime = burst || entry.calls.length > 1 && others() ? false : await this._chime();
    entry.method = await method;
    // From here on the words are fixed: a call made now waits for the next announcement.
    entry.open = false;
    if (this.queue.length) this._prefetch(this.queue[0]);
    this.onUpdate(entry);
    // A merged announcement is long already: it is repeated only when it holds two calls at most.
    const repeats = entry.calls.length > 2 ? 1 : this.repeats;
    for (let i = 0; i < repeats && !entry.cancelled; i++) {
      if (i > 0 && entry.spoken_times > 0 && others()) break;
      const words = this._words(entry, others());
      entry.said = words;
      let ok = true;
      const rate = entry.calls.length >= BRISK_FROM ? BRISK_RATE : entry.calls.length > 1 ? MERGED_RATE : 1;
      if (entry.method === "speech") ok = await this._speak(words.join("，"), rate);
      else if (entry.method === "audio") ok = await this._playWavs(entry, words, rate);
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
      if (i + 1 < repeats && !others()) await this._wait(600);
    }
    const left = shownUntil() - Date.now();
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

  async _speak(text, rate = 1) {
    const u = new SpeechSynthesisUtterance(text);
    u.lang = "zh-CN";
    u.voice = this._voice;
    u.rate = 0.9 * rate;
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
  // One fetch per text, shared by the prefetch and the playing; the 60 most recently used are kept.
  _wavUrl(spoken) {
    let p = this._audioCache.get(spoken);
    if (p) {
      this._audioCache.delete(spoken);
      this._audioCache.set(spoken, p);
      return p;
    }
    p = this._fetchWav(spoken);
    this._audioCache.set(spoken, p);
    p.catch(() => { if (this._audioCache.get(spoken) === p) this._audioCache.delete(spoken); });
    while (this._audioCache.size > 60) {
      const [oldKey, old] = this._audioCache.entries().next().value;
      this._audioCache.delete(oldKey);
      old.then((u) => URL.revokeObjectURL(u), () => {});
    }
    return p;
  }

  async _fetchWav(spoken) {
    // The token goes in a header, never in the URL (it would reach access logs).
    const url = `${this.voiceUrl}?text=${encodeURIComponent(spoken)}`;
    const resp = await fetch(url, { headers: { Authorization: `Bearer ${this.token}` } });
    if (!resp.ok) {
      let code = `http_${resp.status}`;
      try { code = (await resp.json()).error.code; } catch (e) { /* not JSON */ }
      throw new Error(code);
    }
    return URL.createObjectURL(await resp.blob());
  }

  async _playWavs(entry, words, rate = 1) {
    // Fetched together up front, so the clauses of a merged announcement follow without a gap.
    const fetched = words.map((w) => this._wavUrl(w).catch((e) => e));
    entry.clauses_at = [];
    for (let i = 0; i < words.length; i++) {
      if (entry.cancelled) return true;
      const src = await fetched[i];
      if (src instanceof Error) { entry.error = String(src.message || src); return false; }
      if (entry.calls[i] && entry.calls[i].dropped) { entry.clauses_at.push(null); continue; }
      entry.clauses_at.push(Date.now());   // when each call's own words began (for the lag figures)
      entry.saying = i;
      this.onClause(entry, i);
      if (!(await this._playWav(entry, src, rate))) return false;
    }
    return true;
  }

  async _playWav(entry, src, rate = 1) {
    try {
      const audio = new Audio(src);
      audio.playbackRate = rate;
      this._audio = audio;
      const ended = new Promise((resolve) => {
        audio.onended = () => resolve(true);
        audio.onerror = () => resolve(false);
      });
      await audio.play();
      const limit = Number.isFinite(audio.duration) && audio.duration > 0 ? audio.duration * 1000 / rate + 1500 : 8000;
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
