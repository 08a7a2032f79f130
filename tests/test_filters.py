"""Streaming SOS filter (ext/filters.py) against scipy.signal.sosfilt as the oracle."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.signal import butter, sosfilt, sosfilt_zi

from quakewatch.ext.filters import sos_filter

SOS = butter(4, [0.5, 20.0], btype="bandpass", fs=200.0, output="sos")
TOL = {np.float32: 1e-12, np.float64: 1e-12, np.int32: 1e-12}


def _data(dtype: type, n_ch: int = 3, n: int = 2000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_ch, n)) * 1000 + 50
    return x.astype(dtype)


@pytest.mark.reference
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
def test_matches_scipy_from_rest_and_from_steady_state(dtype: type) -> None:
    x = _data(dtype)
    scale = np.array([1.0, 0.5, 2e-3])
    xs = x.astype(np.float64) * scale[:, None]
    rest = sos_filter(SOS, 3, scale=scale, steady_start=False).process(x)
    np.testing.assert_allclose(rest, sosfilt(SOS, xs, axis=1), rtol=TOL[dtype], atol=1e-12 * np.abs(xs).max())
    steady = sos_filter(SOS, 3, scale=scale).process(x)
    zi = sosfilt_zi(SOS)[:, None, :] * xs[None, :, :1]
    ref, _ = sosfilt(SOS, xs, axis=1, zi=zi)
    np.testing.assert_allclose(steady, ref, rtol=TOL[dtype], atol=1e-12 * np.abs(xs).max())


@settings(max_examples=40, deadline=None)
@given(cuts=st.lists(st.integers(1, 1999), max_size=12, unique=True), dtype=st.sampled_from([np.float32, np.float64, np.int32]))
def test_block_splits_are_bit_identical(cuts: list[int], dtype: type) -> None:
    x = _data(dtype, seed=len(cuts))
    whole = sos_filter(SOS, 3).process(x)
    f = sos_filter(SOS, 3)
    edges = [0, *sorted(cuts), x.shape[1]]
    parts = [f.process(x[:, a:b]) for a, b in zip(edges[:-1], edges[1:], strict=True)]
    np.testing.assert_array_equal(np.concatenate(parts, axis=1), whole)


def test_input_is_not_modified_and_offset_gives_no_transient() -> None:
    x = np.full((2, 500), 3.7, dtype=np.float32)
    before = x.copy()
    y = sos_filter(SOS, 2).process(x)
    np.testing.assert_array_equal(x, before)
    assert np.abs(y).max() < 1e-12  # a constant through a band-pass, primed: nothing


def test_contract_errors_name_the_argument() -> None:
    with pytest.raises(ValueError, match="sos"):
        sos_filter(np.ones((2, 5)), 1)
    with pytest.raises(ValueError, match="n_channels"):
        sos_filter(SOS, 0)
    with pytest.raises(ValueError, match="scale"):
        sos_filter(SOS, 2, scale=[1.0])
    f = sos_filter(SOS, 2)
    with pytest.raises(ValueError, match="block"):
        f.process(np.zeros((3, 10)))
    with pytest.raises(TypeError, match="dtype"):
        f.process(np.zeros((2, 10), dtype=np.int16))
    assert f.process(np.zeros((2, 0))).shape == (2, 0)
