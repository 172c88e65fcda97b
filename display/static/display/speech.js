// How halls say a call: ticket digits one by one (A023 → A零二三), window numbers naturally (12 → 十二).
// Mirrors display/voice.py; the server renders only text of exactly this shape.
const DIGITS = "零一二三四五六七八九";

export function spokenTicket(number) {
  const m = /^([A-Z]{0,2})(\d{1,5})$/.exec(String(number).trim().toUpperCase());
  if (!m) return String(number);
  return m[1] + [...m[2]].map((d) => DIGITS[Number(d)]).join("");
}

export function spokenNumber(n) {
  n = Number(n);
  if (!(n > 0 && n < 1000)) return String(n);
  const hundreds = Math.floor(n / 100), tens = Math.floor((n % 100) / 10), ones = n % 10;
  let out = hundreds ? DIGITS[hundreds] + "百" : "";
  if (tens) out += (tens === 1 && !hundreds ? "" : DIGITS[tens]) + "十";
  else if (hundreds && ones) out += "零";
  if (ones) out += DIGITS[ones];
  return out;
}

export function displayText(number, windowNumber) {
  return `请 ${number} 号到 ${windowNumber} 号窗口办理`;
}

// The short form (no 办理) is used at peak, when other calls wait behind this one; the terse form
// ("A零零七，二号窗口": the number, a pause, the window) follows the first call of a merged announcement.
export function spokenText(number, windowNumber, { short = false, terse = false } = {}) {
  if (terse) return `${spokenTicket(number)}，${spokenNumber(windowNumber)}号窗口`;
  return `请${spokenTicket(number)}号到${spokenNumber(windowNumber)}号窗口${short ? "" : "办理"}`;
}
