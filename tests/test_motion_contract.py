"""One contract run over every public entry point of ``quakewatch.ext.motion``
(STYLE 11): inputs not mutated, float32/float64 accepted, NaN rejected naming the
argument, short/empty input defined, invalid parameters rejected naming the limit."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from quakewatch.ext import motion as m

# name -> (call(acc) with the record as every acceleration argument, name of the first argument)
REGISTRY: dict[str, tuple[Callable[[np.ndarray], Any], str]] = {
    "response_spectrum": (lambda a: m.response_spectrum(a, 0.01), "acc_mps2"),
    "peak_motion": (lambda a: m.peak_motion(a, 100.0), "acc_mps2"),
    "arias_intensity": (lambda a: m.arias_intensity(a, 0.01), "acc_mps2"),
    "cav": (lambda a: m.cav(a, 0.01), "acc_mps2"),
    "significant_duration": (lambda a: m.significant_duration(a, 0.01), "acc_mps2"),
    "fourier_amplitude_spectrum": (lambda a: m.fourier_amplitude_spectrum(a, 0.01), "acc_mps2"),
    "channel_metrics": (lambda a: m.channel_metrics(a, 100.0), "acc_mps2"),
    "instrumental_intensity": (lambda a: m.instrumental_intensity(a, a, a, 100.0), "acc_e"),
    "station_metrics": (lambda a: m.station_metrics(a, a, a, 100.0), "acc_e"),
}


def _flat(result: Any) -> np.ndarray:
    """Every number in a result, as one float64 array."""
    if isinstance(result, tuple) and not hasattr(result, "__dataclass_fields__"):
        return np.concatenate([_flat(r) for r in result])
    if hasattr(result, "__dataclass_fields__"):
        parts = [_flat(getattr(result, f)) for f in result.__dataclass_fields__ if not isinstance(getattr(result, f), str)]
        return np.concatenate(parts) if parts else np.zeros(0)
    if result is None:
        return np.zeros(0)
    arr = np.asarray(result, dtype=object)
    return np.array([x for x in arr.ravel() if isinstance(x, (int, float, np.number)) and not isinstance(x, bool)], dtype=np.float64)


def _record(dtype: type, n: int = 1500) -> np.ndarray:
    rng = np.random.default_rng(0)
    return (rng.normal(0, 1, n) * np.hanning(n)).astype(dtype)


@pytest.mark.parametrize("name", REGISTRY)
def test_dtypes_accepted_inputs_unchanged(name: str) -> None:
    call, _ = REGISTRY[name]
    results = {}
    for dtype in (np.float32, np.float64):
        x = _record(dtype)
        before = x.copy()
        x.flags.writeable = False  # read-only input works (const memoryviews), and is not written
        results[dtype] = _flat(call(x))
        np.testing.assert_array_equal(x, before)
        assert np.isfinite(results[dtype]).all()
    np.testing.assert_allclose(results[np.float32], results[np.float64], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name", REGISTRY)
@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_input_names_the_argument(name: str, bad: float) -> None:
    call, arg = REGISTRY[name]
    x = _record(np.float64)
    x[100] = bad
    with pytest.raises(ValueError, match=rf"{arg} contains NaN or Inf \(first at sample 100\)"):
        call(x)


@pytest.mark.parametrize("name", REGISTRY)
@pytest.mark.parametrize("n", [0, 1])
def test_short_input_rejected(name: str, n: int) -> None:
    call, arg = REGISTRY[name]
    with pytest.raises(ValueError, match=rf"{arg} must have at least 2 samples, got {n}"):
        call(np.zeros(n))


@pytest.mark.parametrize("name", REGISTRY)
def test_two_samples_defined(name: str) -> None:
    call, _ = REGISTRY[name]
    out = _flat(call(np.array([0.0, 1.0])))
    assert not np.isnan(out).any()


@pytest.mark.parametrize("name", ["arias_intensity", "cav", "significant_duration", "peak_motion", "channel_metrics"])
def test_one_channel_functions_reject_2d(name: str) -> None:
    call, arg = REGISTRY[name]
    with pytest.raises(ValueError, match=rf"{arg} must be 1-D"):
        call(np.zeros((2, 10)))


@pytest.mark.parametrize("bad", [0.0, -0.01, math.nan, math.inf])
def test_invalid_sampling_rejected(bad: float) -> None:
    x = _record(np.float64)
    for call in (m.response_spectrum, m.arias_intensity, m.cav, m.significant_duration, m.fourier_amplitude_spectrum):
        with pytest.raises(ValueError, match=r"dt_s must be finite and > 0"):
            call(x, bad)
    for call2 in (m.peak_motion, m.channel_metrics):
        with pytest.raises(ValueError, match=r"fs_hz must be finite and > 0"):
            call2(x, bad)
    with pytest.raises(ValueError, match=r"fs_hz must be finite and > 0"):
        m.instrumental_intensity(x, x, x, bad)


@pytest.mark.parametrize("bad", [-0.01, 1.0, 1.5, math.nan])
def test_invalid_damping_rejected(bad: float) -> None:
    with pytest.raises(ValueError, match=r"damping must be in \[0, 1\)"):
        m.response_spectrum(_record(np.float64), 0.01, damping=bad)
    with pytest.raises(ValueError, match=r"damping must be in \[0, 1\)"):
        m.channel_metrics(_record(np.float64), 100.0, damping=bad)


@pytest.mark.parametrize(
    "periods,match",
    [([], "non-empty"), ([0.0, 1.0], "finite and > 0"), ([-1.0], "finite and > 0"), ([math.nan], "finite and > 0")],
)
def test_invalid_periods_rejected(periods: list[float], match: str) -> None:
    with pytest.raises(ValueError, match=rf"periods_s .*{match}"):
        m.response_spectrum(_record(np.float64), 0.01, periods)


@pytest.mark.parametrize(
    "band,match",
    [((0.1, 50.0), "high corner must be < fs_hz / 2 = 50"), ((60.0, None), "low corner must be < fs_hz / 2"),
     ((5.0, 1.0), "low corner must be < high"), ((-1.0, None), "low corner must be finite and > 0"), ((1.0,), "pair")],
)
def test_invalid_band_rejected(band: Any, match: str) -> None:
    with pytest.raises(ValueError, match=rf"band_hz {match}" if "pair" not in match else match):
        m.peak_motion(_record(np.float64), 100.0, band_hz=band)


def test_integer_input_converted_and_complex_rejected() -> None:
    x = (1000 * _record(np.float64)).astype(np.int32)
    assert m.arias_intensity(x, 0.01) == pytest.approx(m.arias_intensity(x.astype(np.float64), 0.01))
    with pytest.raises(TypeError, match="acc_mps2 must be a real array"):
        m.cav(x.astype(complex), 0.01)


def test_results_are_frozen() -> None:
    r = m.channel_metrics(_record(np.float64), 100.0)
    with pytest.raises(AttributeError):
        r.pga_mps2 = 0.0  # type: ignore[misc]
