"""The detector takes any array without crashing."""
from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from devices.scanner.detect import find_page

shapes = st.one_of(
    st.tuples(st.integers(0, 80), st.integers(0, 80)),
    st.tuples(st.integers(0, 80), st.integers(0, 80), st.sampled_from([1, 2, 3, 4, 5])),
    st.tuples(st.integers(0, 3)),
)
dtypes = st.sampled_from([np.uint8, np.uint16, np.int32, np.int64, np.float32, np.float64, np.bool_])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arrays(dtype=dtypes, shape=shapes))
def test_find_page_never_crashes(a):
    q = find_page(a)
    assert q is None or (q.shape == (4, 2) and np.all(np.isfinite(q)))


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([(240, 320), (480, 640, 3), (100, 1000, 3), (720, 96, 4)]))
def test_random_noise_and_blocks(seed, shape):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 256, shape, dtype=np.uint8)
    if rng.random() < 0.5:
        a[: shape[0] // 2] = 255  # a hard straight edge across the noise
    q = find_page(a)
    assert q is None or (q.shape == (4, 2) and np.all(np.isfinite(q)))


def test_odd_inputs():
    assert find_page(None) is None
    assert find_page("not an image") is None
    assert find_page(np.full((50, 50, 3), np.nan)) is None
    assert find_page(np.zeros((1080, 1920, 3), np.uint8)) is None
