"""Voice calls: the spoken form of an announcement, and WAV files rendered with espeak-ng.

A hall reads ticket numbers digit by digit ("A023" → "A零二三") so that 023 is never heard as
"twenty-three", and window numbers naturally ("12号窗口" → "十二号窗口"). Browsers speak with their
own zh-CN voice; where none exists the page plays a WAV rendered here. Only announcement-shaped
text is rendered for screens, and for kiosks only short Chinese prompts (is_prompt), so the endpoint
cannot be used as a general text-to-speech service.
"""
from __future__ import annotations

import array
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

DIGITS = "零一二三四五六七八九"
MAX_TEXT = 40
# A kiosk's spoken prompt (适老模式): one or two short Chinese sentences, e.g. "您的号码 A 0 0 1。请到A区 1–6号窗口等候。"
MAX_PROMPT = 80
ESPEAK_VOICE = "cmn"
ESPEAK_SPEED = 175  # espeak-ng's default; its Mandarin is already slow and clear (a call lasts about 4.5 s)
RENDER_TIMEOUT_S = 15
CACHE_MAX_FILES = 2000
# espeak-ng ends every WAV with about 0.3 s of silence; the clauses of a merged announcement are played one
# after another, so that silence was a pause of its own after each call (3 s in a burst of ten). A rendered
# file keeps SILENCE_LEAD_S before the first sound and SILENCE_TAIL_S after the last, enough to part two calls.
SILENCE_LEVEL = 300  # of 32767: quieter than espeak-ng's softest consonant
SILENCE_LEAD_S = 0.02
SILENCE_TAIL_S = 0.12
# Part of the cache key, so that files rendered before the trimming are rendered again.
RENDER_FORM = "trimmed-1"

_TICKET = re.compile(r"^([A-Z]{0,2})(\d{1,5})$")
# 请 A零二三 号到 五 号窗口办理 — a prefix of up to two letters, digits read one by one, a window number;
# at peak the screens say the short form without 办理, and after the first call of a merged announcement
# the terse form: the number, a pause, the window ("A零二四，六号窗口", issue 21 §2). The older terse form
# "A零二四号到六号窗口" is still rendered for screens not yet reloaded.
_ANNOUNCEMENT = re.compile(r"^(请?[A-Z]{0,2}[零一二三四五六七八九]{1,5}号到[零一二三四五六七八九十百]{1,6}号窗口(办理)?"
                           r"|[A-Z]{0,2}[零一二三四五六七八九]{1,5}，[零一二三四五六七八九十百]{1,6}号窗口)$")


class VoiceUnavailable(Exception):
    """espeak-ng is not installed, or it failed to render."""


def spoken_ticket(number: str) -> str:
    """Return a ticket number read digit by digit: ``A023`` → ``A零二三``."""
    m = _TICKET.match(number.strip().upper())
    if m is None:
        raise ValueError(f"not a ticket number: {number!r}")
    return m.group(1) + "".join(DIGITS[int(d)] for d in m.group(2))


def spoken_number(n: int) -> str:
    """Return a window number read naturally: 5 → 五, 10 → 十, 12 → 十二, 20 → 二十, 105 → 一百零五."""
    if not 0 < n < 1000:
        raise ValueError(f"window number out of range: {n}")
    hundreds, rest = divmod(n, 100)
    tens, ones = divmod(rest, 10)
    out = DIGITS[hundreds] + "百" if hundreds else ""
    if tens:
        out += ("" if tens == 1 and not hundreds else DIGITS[tens]) + "十"
    elif hundreds and ones:
        out += "零"
    if ones:
        out += DIGITS[ones]
    return out


def display_text(number: str, window_number: int) -> str:
    """Return the announcement as the screen shows it: ``请 A023 号到 5 号窗口办理``."""
    return f"请 {number} 号到 {window_number} 号窗口办理"


def spoken_text(number: str, window_number: int, *, short: bool = False, terse: bool = False) -> str:
    """Return the announcement as it is spoken: ``请A零二三号到五号窗口办理`` (mirrors speech.js).

    ``short`` drops 办理 (a call others wait behind); ``terse`` is a merged announcement's later call,
    ``A零二三，五号窗口``.
    """
    if terse:
        return f"{spoken_ticket(number)}，{spoken_number(window_number)}号窗口"
    return f"请{spoken_ticket(number)}号到{spoken_number(window_number)}号窗口{'' if short else '办理'}"


_PROMPT = re.compile(r"^[\u4e00-\u9fff0-9A-Z，。、：；！？（）“”《》·…—–\- *]+$")


def is_prompt(text: str) -> bool:
    """Whether ``text`` is a kiosk prompt a kiosk may have spoken: Chinese, digits, capitals, punctuation."""
    return 0 < len(text) <= MAX_PROMPT and _PROMPT.match(text) is not None and re.search(r"[\u4e00-\u9fff]", text) is not None


def is_announcement(text: str) -> bool:
    """Whether ``text`` is a spoken call announcement (the only text the voice endpoint renders)."""
    return len(text) <= MAX_TEXT and _ANNOUNCEMENT.match(text) is not None


def trim_silence(path: Path) -> float:
    """Cut a 16-bit mono WAV's silence to SILENCE_LEAD_S before and SILENCE_TAIL_S after the sound; return seconds cut.

    Any other sample format is left as it is (espeak-ng writes 16-bit mono).
    """
    with wave.open(str(path), "rb") as w:
        params = w.getparams()
        if params.sampwidth != 2 or params.nchannels != 1:
            return 0.0
        samples = array.array("h", w.readframes(params.nframes))
    if sys.byteorder == "big":
        samples.byteswap()
    first = next((i for i, v in enumerate(samples) if abs(v) > SILENCE_LEVEL), None)
    if first is None:
        return 0.0
    last = next(i for i in range(len(samples) - 1, -1, -1) if abs(samples[i]) > SILENCE_LEVEL)
    rate = params.framerate
    start = max(0, first - int(SILENCE_LEAD_S * rate))
    end = min(len(samples), last + 1 + int(SILENCE_TAIL_S * rate))
    if start == 0 and end == len(samples):
        return 0.0
    kept = samples[start:end]
    if sys.byteorder == "big":
        kept.byteswap()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(kept.tobytes())
    return (len(samples) - len(kept)) / rate


class VoiceRenderer:
    """Render announcements to WAV with espeak-ng, caching each text's file on disk."""

    def __init__(self, cache_dir: Path, *, command: str = "espeak-ng", speed: int = ESPEAK_SPEED) -> None:
        if not 80 <= speed <= 450:  # espeak-ng's usable range, in words per minute
            raise ValueError(f"voice speed must be 80 to 450 words per minute, not {speed}")
        self.cache_dir = Path(cache_dir)
        self.command = command
        self.speed = speed

    def available(self) -> bool:
        return shutil.which(self.command) is not None

    def path_for(self, text: str) -> Path:
        key = hashlib.sha256(f"{ESPEAK_VOICE}|{self.speed}|{RENDER_FORM}|{text}".encode()).hexdigest()[:32]
        return self.cache_dir / f"{key}.wav"

    def render(self, text: str) -> Path:
        """Return the WAV file of ``text``, rendering it once; raise ``VoiceUnavailable`` on failure."""
        if not (is_announcement(text) or is_prompt(text)):
            raise ValueError("neither an announcement nor a kiosk prompt")
        target = self.path_for(text)
        if target.exists():
            try:
                os.utime(target)  # recently used files survive pruning
            except OSError:
                pass
            return target
        exe = shutil.which(self.command)
        if exe is None:
            raise VoiceUnavailable(f"{self.command} is not installed")
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(suffix=".wav.part", dir=self.cache_dir)
        os.close(fd)
        try:
            subprocess.run([exe, "-v", ESPEAK_VOICE, "-s", str(self.speed), "-w", tmp, "--", text],
                           check=True, capture_output=True, timeout=RENDER_TIMEOUT_S)
            with open(tmp, "rb") as f:
                head = f.read(12)
            if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                raise VoiceUnavailable("espeak-ng wrote no WAV")
            trim_silence(Path(tmp))
            # Renders of the same text by two requests end in the same file: the replace is atomic.
            os.replace(tmp, target)
        except (OSError, EOFError, wave.Error, subprocess.SubprocessError) as e:
            raise VoiceUnavailable(f"espeak-ng failed: {type(e).__name__}") from e
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        self._prune()
        return target

    def _prune(self) -> None:
        # Numbers and windows are finite but many; keep the newest files only.
        stamped = []
        for path in self.cache_dir.glob("*.wav"):
            try:
                stamped.append((path.stat().st_mtime, path))
            except OSError:  # removed meanwhile by another request's pruning
                continue
        stamped.sort()
        for _, old in stamped[:-CACHE_MAX_FILES]:
            try:
                old.unlink()
            except OSError:
                pass
