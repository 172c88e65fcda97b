"""Screen pages and the voice endpoint (issue 5): token checks, announcement text, espeak-ng WAVs."""
from __future__ import annotations

import array
import io
import shutil
import wave
from urllib.parse import quote

import pytest

from display.voice import (
    SILENCE_LEAD_S,
    SILENCE_LEVEL,
    SILENCE_TAIL_S,
    display_text,
    is_announcement,
    spoken_number,
    spoken_text,
    spoken_ticket,
    trim_silence,
)
from hall_queue import create_app
from hall_queue.access.auth import issue_token

HAS_ESPEAK = shutil.which("espeak-ng") is not None


def test_numbers_are_read_as_halls_read_them():
    assert spoken_ticket("A023") == "A零二三"
    assert spoken_ticket("b1000") == "B一零零零"
    assert [spoken_number(n) for n in (1, 5, 10, 12, 20, 21, 100, 105, 110)] == [
        "一", "五", "十", "十二", "二十", "二十一", "一百", "一百零五", "一百一十"]
    assert display_text("A023", 5) == "请 A023 号到 5 号窗口办理"
    assert spoken_text("A023", 5) == "请A零二三号到五号窗口办理"
    with pytest.raises(ValueError):
        spoken_ticket("A-1")


def test_only_announcements_are_accepted():
    assert is_announcement(spoken_text("A023", 5)) and is_announcement(spoken_text("ZZ99999", 999))
    assert spoken_text("A024", 6, short=True) == "请A零二四号到六号窗口"      # others wait behind it
    assert spoken_text("A024", 6, terse=True) == "A零二四，六号窗口"          # a merged announcement's later call
    for form in (spoken_text("A024", 6, short=True), spoken_text("A024", 6, terse=True), "A零二四号到六号窗口"):
        assert is_announcement(form), form
    for text in ("", "你好", "请A023号到5号窗口办理", "请A零二三号到五号窗口办理。现在广播", "A零二四，六号窗口，你好",
                 "请A零二四，六号窗口办理", "，六号窗口",
                 "请<script>号到五号窗口办理", "请A零二三号到五号窗口办理" * 2):
        assert not is_announcement(text), text


def _voice(client, text, token):
    return client.get(f"/display/voice?text={quote(text)}", headers={"Authorization": f"Bearer {token}"})


def _voice_app(db, clock, hall_id, tmp_path, **config):
    app = create_app({"DATABASE": db, "DATABASE_URL": db.url, "CLOCK": clock, "DATA_KEY": "k", "TESTING": True,
                      "VOICE_CACHE_DIR": str(tmp_path / "voice-cache"), **config})
    token = db.run_write(lambda s: issue_token(s, kind="screen", hall_id=hall_id, now=clock.now()))
    return app, token


@pytest.mark.skipif(not HAS_ESPEAK, reason="espeak-ng is not installed (Debian package espeak-ng)")
def test_voice_renders_a_wav_once_and_caches_it(db, clock, hall_id, tmp_path):
    app, token = _voice_app(db, clock, hall_id, tmp_path)
    text = spoken_text("A023", 5)
    r = _voice(app.test_client(), text, token)
    assert r.status_code == 200 and r.mimetype == "audio/wav"
    data = r.get_data()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE" and len(data) > 10_000
    cached = app.extensions["onevisit_voice"].path_for(text)
    assert cached.parent == tmp_path / "voice-cache" and cached.read_bytes() == data
    cached.write_bytes(data[:44] + b"\0" * 100)   # a second request is served from the cache, not re-rendered
    again = _voice(app.test_client(), text, token)
    assert again.status_code == 200 and again.get_data() == data[:44] + b"\0" * 100


def test_voice_refuses_other_text_and_missing_tokens(api):
    tok = api.tokens["screen"]
    bad = _voice(api.client, "欢迎光临，今天天气很好", tok)
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "not_announcement"
    long = _voice(api.client, "请" + "一" * 60 + "号到五号窗口办理", tok)
    assert long.status_code == 400 and long.get_json()["error"]["code"] == "text_too_long"
    assert _voice(api.client, spoken_text("A023", 5), "wrong").status_code == 401
    # A kiosk may have its short Chinese prompts spoken (适老模式 without a browser voice, issue 21), nothing else.
    kiosk = api.tokens["kiosk"]
    for text in ("hello world", "<script>", "您" * 81, ""):
        r = _voice(api.client, text, kiosk)
        assert r.status_code == 400 and r.get_json()["error"]["code"] == "not_prompt", text
    assert _voice(api.client, "您的号码 A 0 0 1。请到A区 1–6号窗口等候。", kiosk).status_code in (200, 503)


@pytest.mark.skipif(not HAS_ESPEAK, reason="espeak-ng is not installed (Debian package espeak-ng)")
def test_a_rendered_call_ends_with_a_short_silence(db, clock, hall_id, tmp_path):
    """The clauses of a merged announcement follow each other closely: espeak-ng's 0.3 s tail is cut."""
    app, token = _voice_app(db, clock, hall_id, tmp_path)
    text = spoken_text("A024", 6, terse=True)
    r = _voice(app.test_client(), text, token)
    assert r.status_code == 200
    with wave.open(io.BytesIO(r.get_data())) as w:
        rate, samples = w.getframerate(), array.array("h", w.readframes(w.getnframes()))
    loud = [i for i, v in enumerate(samples) if abs(v) > SILENCE_LEVEL]
    assert loud and len(samples) > rate                            # a whole call, not a click
    assert loud[0] <= SILENCE_LEAD_S * rate + 1
    assert len(samples) - 1 - loud[-1] <= SILENCE_TAIL_S * rate + 1


def test_trim_silence_keeps_the_sound_and_a_little_quiet_around_it(tmp_path):
    rate = 22050
    tone = [1000, -1000] * (rate // 4)
    sound = [0] * rate + tone + [0] * rate                          # 1 s quiet, 0.5 s sound, 1 s quiet
    path = tmp_path / "call.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(rate)
        w.writeframes(array.array("h", sound).tobytes())
    cut = trim_silence(path)
    with wave.open(str(path)) as w:
        kept = array.array("h", w.readframes(w.getnframes()))
    assert kept.count(1000) == rate // 4 and kept.count(-1000) == rate // 4
    assert len(kept) == int(SILENCE_LEAD_S * rate) + len(tone) + int(SILENCE_TAIL_S * rate)
    assert cut == pytest.approx((len(sound) - len(kept)) / rate)
    assert trim_silence(path) == 0.0                               # nothing more to cut


def test_voice_answers_503_without_espeak(db, clock, hall_id, tmp_path):
    app, token = _voice_app(db, clock, hall_id, tmp_path, ESPEAK_NG="/nonexistent/espeak-ng")
    r = _voice(app.test_client(), spoken_text("A023", 5), token)
    assert r.status_code == 503 and r.get_json()["error"]["code"] == "voice_unavailable"
    assert not (tmp_path / "voice-cache").exists() or not any((tmp_path / "voice-cache").iterdir())


def test_pages_check_their_token(api, db, clock):
    c, hall = api.client, api.hall_id
    w1, w2 = api.windows[1], api.windows[2]
    ok = c.get(f"/display/hall/{hall}?token={api.tokens['screen']}")
    assert ok.status_code == 200 and "示例市政务服务中心" in ok.get_data(as_text=True)
    assert ok.headers["Referrer-Policy"] == "no-referrer" and ok.headers["Cache-Control"] == "no-store"
    missing = c.get(f"/display/hall/{hall}")
    assert missing.status_code == 401 and "缺少屏幕令牌" in missing.get_data(as_text=True)
    bad = c.get(f"/display/hall/{hall}?token=nope")
    assert bad.status_code == 401 and "屏幕令牌无效" in bad.get_data(as_text=True)
    assert c.get(f"/display/hall/{hall}?token={api.tokens['kiosk']}").status_code == 403
    assert c.get(f"/display/hall/{hall + 1000}?token={api.tokens['screen']}").status_code == 403
    # A screen bound to window 1 shows window 1 only.
    bound = db.run_write(lambda s: issue_token(s, kind="screen", hall_id=hall, window_id=w1, now=clock.now()))
    for layout in ("small", "wide"):
        page = c.get(f"/display/window/{w1}?token={bound}&layout={layout}")
        assert page.status_code == 200 and f"layout-{layout}" in page.get_data(as_text=True)
    assert c.get(f"/display/window/{w2}?token={bound}").status_code == 403
    assert c.get(f"/display/hall/{hall}?token={bound}").status_code == 403
    assert c.get(f"/display/window/{w1}?token={bound}&layout=huge").status_code == 400
    assert c.get(f"/display/window/999999?token={bound}").status_code == 404
    # Staff may look at a screen too (e.g. a manager checking what visitors see).
    assert c.get(f"/display/window/{w2}?token={api.token('manager')}").status_code == 200


def test_pages_never_carry_visitor_identity(api):
    api.sign_in("clerk01", 1)
    api.issue("SS001", name="张三丰", id_number="220102199003071234")
    api.call("clerk01", 1)
    for path in (f"/display/hall/{api.hall_id}", f"/display/window/{api.windows[1]}"):
        text = api.client.get(f"{path}?token={api.tokens['screen']}").get_data(as_text=True)
        assert "张三丰" not in text and "张*丰" not in text and "220102199003071234" not in text


def test_voice_takes_no_token_in_its_url(db, clock, hall_id, tmp_path):
    """Tokens never in URLs except the screen page itself (issue 13, finding 11)."""
    app, token = _voice_app(db, clock, hall_id, tmp_path)
    r = app.test_client().get(f"/display/voice?text={quote('请A零二三号到五号窗口办理')}&token={quote(token)}")
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "unauthorized"
