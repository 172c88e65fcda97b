"""``onevisit run``'s Date header: formatted once per second, the same text gunicorn would write."""
from __future__ import annotations

import email.utils
import threading
import time

from hall_queue.entrypoints import server


def test_the_kept_date_is_gunicorns_text_for_the_current_second():
    while True:  # retry when the reads straddle a second's edge
        start = int(time.time())
        first = server._http_date_per_second()
        second = server._http_date_per_second()
        if int(time.time()) == start:
            break
    assert first == email.utils.formatdate(start, usegmt=True)
    assert second is first  # kept for the second, not formatted again


def test_a_given_moment_is_formatted_not_kept():
    assert server._http_date_per_second(0) == "Thu, 01 Jan 1970 00:00:00 GMT"
    assert server._http_date_per_second(86400.5) == "Fri, 02 Jan 1970 00:00:00 GMT"


def test_threads_always_read_a_real_date():
    seen: set[str] = set()
    errors: list[Exception] = []

    def read():
        try:
            for _ in range(2000):
                seen.add(server._http_date_per_second())
        except Exception as e:  # noqa: BLE001 - collected for the assertion
            errors.append(e)

    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for text in seen:
        assert abs(email.utils.parsedate_to_datetime(text).timestamp() - time.time()) < 30
