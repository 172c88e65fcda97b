"""The wait range's arithmetic and its one wording (issue 17)."""
from __future__ import annotations

from hall_queue.queueing.wait_range import _range, wait_range_text


def test_range_grows_with_position_and_shrinks_with_windows():
    _, lo1, hi1 = _range(position=4, idle=0, windows=2, mean=600, sd=300)
    _, lo2, hi2 = _range(position=8, idle=0, windows=2, mean=600, sd=300)
    _, lo3, hi3 = _range(position=8, idle=0, windows=4, mean=600, sd=300)
    assert lo1 < lo2 and hi1 < hi2
    assert hi3 < hi2 and lo3 < lo2
    assert lo1 < 4.5 * 600 / 2 < hi1  # the expected wait sits inside


def test_an_idle_window_means_no_wait_and_the_range_has_a_minimum_width():
    assert _range(position=0, idle=1, windows=1, mean=600, sd=0) == (0.0, 0.0, 0.0)
    _, lo, hi = _range(position=0, idle=0, windows=3, mean=300, sd=0)
    assert hi - lo >= 180


def test_text():
    assert wait_range_text(480, 900) == "约 8–15 分钟"
    assert wait_range_text(0, 50) == "即将叫号"
    assert wait_range_text(20, 600) == "10 分钟以内"  # never "约 0–10 分钟" with someone ahead
    assert wait_range_text(3000, 4500) == "约 50 分钟–1 小时 15 分钟"
    assert wait_range_text(0, 0, windows=0) == "暂无窗口办理，请留意叫号"
