"""Time-domain metrics, filtering and summaries of ``quakewatch.ext.motion``:
compiled kernels against NumPy/SciPy twins written here (per dtype), analytic
records, and the processing chain against ObsPy run in the test."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, signal

from quakewatch.ext import _motion
from quakewatch.ext.motion import (
    G_MPS2,
    NGA_WEST2_PERIODS_S,
    arias_intensity,
    cav,
    channel_metrics,
    fourier_amplitude_spectrum,
    instrumental_intensity,
    peak_motion,
    response_spectrum,
    significant_duration,
    station_metrics,
)


def _record(seed: int, n: int = 3000, fs: float = 100.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / fs
    return rng.normal(0.0, 1.0, n) * (t / 5.0) ** 2 * np.exp(-t / 4.0) + 0.01


def time_domain_twin(a: np.ndarray, dt: float, qs: tuple[float, float, float]) -> list[float]:
    a = a.astype(np.float64)
    v = integrate.cumulative_trapezoid(a, dx=dt, initial=0)
    d = integrate.cumulative_trapezoid(v, dx=dt, initial=0)
    e = integrate.cumulative_trapezoid(a * a, dx=dt, initial=0)
    c = integrate.cumulative_trapezoid(np.abs(a), dx=dt, initial=0)
    t = np.arange(len(a)) * dt
    times = [float(t[np.argmax(e / e[-1] >= q)]) if q == 0 else float(np.interp(q, e / e[-1], t)) for q in qs]
    return [np.abs(a).max(), np.abs(v).max(), np.abs(d).max(), e[-1], c[-1], *times]


@pytest.mark.reference
@pytest.mark.parametrize("dtype,rtol", [(np.float32, 1e-9), (np.float64, 1e-9)])
@pytest.mark.parametrize("seed", range(3))
def test_time_domain_kernel_matches_twin(dtype: type, rtol: float, seed: int) -> None:
    x: np.ndarray = np.stack([_record(seed + k) for k in range(2)]).astype(dtype).astype(np.float64)
    out = _motion.time_domain(x, 0.01, 0.05, 0.75, 0.95)
    for k in range(2):
        np.testing.assert_allclose(out[k], time_domain_twin(x[k], 0.01, (0.05, 0.75, 0.95)), rtol=rtol, atol=1e-12)


@pytest.mark.reference
@pytest.mark.parametrize("btype,corners", [("highpass", 0.1), ("bandpass", (0.1, 10.0)), ("lowpass", 25.0)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_filter_kernel_matches_scipy(btype: str, corners: float | tuple[float, float], dtype: type) -> None:
    sos = signal.butter(4, corners, btype=btype, fs=100.0, output="sos")
    x: np.ndarray = np.stack([_record(s) for s in range(3)]).astype(dtype)
    y = x.astype(np.float64)
    _motion.sosfilt_inplace(sos, y, False)
    np.testing.assert_allclose(y, signal.sosfilt(sos, x.astype(np.float64), axis=-1), rtol=1e-10, atol=1e-13)
    _motion.sosfilt_inplace(sos, y, True)  # forward again, then backward
    ref = signal.sosfilt(sos, x.astype(np.float64), axis=-1)
    ref = signal.sosfilt(sos, ref, axis=-1)
    ref = signal.sosfilt(sos, ref[:, ::-1], axis=-1)[:, ::-1]
    np.testing.assert_allclose(y, ref, rtol=1e-9, atol=1e-12)


@pytest.mark.reference
def test_vector_peaks_matches_twin() -> None:
    x = np.stack([_record(s) for s in range(3)])
    pga, pgv = _motion.vector_peaks(x, 0.01)
    v = integrate.cumulative_trapezoid(x, dx=0.01, initial=0, axis=-1)
    assert pga == pytest.approx(np.sqrt((x**2).sum(0)).max(), rel=1e-12)
    assert pgv == pytest.approx(np.sqrt((v**2).sum(0)).max(), rel=1e-12)


@pytest.mark.reference
@pytest.mark.parametrize("zero_phase_band", [(0.1, None), (0.1, 25.0), (0.5, 10.0)])
def test_peak_motion_chain_matches_obspy(zero_phase_band: tuple[float, float | None]) -> None:
    """Chain = ObsPy demean + Butterworth corners=4 zerophase=True + integrate (cumtrapz)."""
    obspy = pytest.importorskip("obspy")
    x = _record(7, 6000)
    low, high = zero_phase_band
    tr = obspy.Trace(x.copy(), header={"sampling_rate": 100.0})
    tr.detrend("demean")
    if high is None:
        tr.filter("highpass", freq=low, corners=4, zerophase=True)
    else:
        tr.filter("bandpass", freqmin=low, freqmax=high, corners=4, zerophase=True)
    pga = np.abs(tr.data).max()
    tr.integrate()
    pgv = np.abs(tr.data).max()
    tr.integrate()
    pgd = np.abs(tr.data).max()
    p = peak_motion(x, 100.0, band_hz=zero_phase_band)
    np.testing.assert_allclose([p.pga_mps2, p.pgv_mps, p.pgd_m], [pga, pgv, pgd], rtol=1e-8)
    assert p.processing.band_hz == zero_phase_band and p.processing.zero_phase


def test_pre_event_window_mean_is_removed() -> None:
    x = np.concatenate([np.full(500, 2.0), 2.0 + np.sin(np.arange(1000) / 5.0)])
    assert peak_motion(x, 100.0, band_hz=(None, None), pre_event_s=5.0).pga_mps2 == pytest.approx(1.0, rel=1e-3)
    with pytest.raises(ValueError, match="pre_event_s"):
        peak_motion(x, 100.0, pre_event_s=100.0)


@pytest.mark.reference
def test_arias_cav_of_a_sine_by_hand() -> None:
    """a = A sin(2 pi f t) over N whole cycles: Ia = pi/(2g) A^2 D / 2, CAV = 2 A D / pi."""
    amp, f, fs, dur = 3.0, 2.0, 1000.0, 10.0
    t = np.arange(int(dur * fs) + 1) / fs
    a = amp * np.sin(2 * np.pi * f * t)
    assert arias_intensity(a, 1 / fs) == pytest.approx(math.pi / (2 * G_MPS2) * amp**2 * dur / 2, rel=1e-9)
    assert cav(a, 1 / fs) == pytest.approx(2 * amp * dur / math.pi, rel=1e-4)


@pytest.mark.reference
def test_durations_of_uniform_energy_by_hand() -> None:
    """Constant |a| for D seconds: the Arias curve is a straight line, D5-95 = 0.9 D, D5-75 = 0.7 D."""
    fs, dur = 200.0, 20.0
    a = np.ones(int(dur * fs) + 1)
    a[::2] = -1.0
    a = np.concatenate([np.zeros(400), a, np.zeros(400)])
    assert significant_duration(a, 1 / fs) == pytest.approx(0.9 * dur, abs=2 / fs)
    assert significant_duration(a, 1 / fs, 0.05, 0.75) == pytest.approx(0.7 * dur, abs=2 / fs)
    assert significant_duration(np.zeros(100), 0.01) == 0.0
    with pytest.raises(ValueError, match="start must be < end"):
        significant_duration(a, 0.01, 0.9, 0.5)


@pytest.mark.reference
def test_fourier_amplitude_of_a_sine_by_hand() -> None:
    """A sin at a bin frequency, n samples: |X| dt = A n dt / 2 at f, ~0 elsewhere."""
    n, dt, f, amp = 1000, 0.01, 5.0, 2.0
    a = amp * np.sin(2 * np.pi * f * np.arange(n) * dt)
    freqs, fas = fourier_amplitude_spectrum(a, dt)
    k = int(np.argmax(fas))
    assert freqs[k] == pytest.approx(f) and fas[k] == pytest.approx(amp * n * dt / 2, rel=1e-9)
    assert np.delete(fas, k).max() < 1e-9
    _, fas2 = fourier_amplitude_spectrum(np.stack([a, 2 * a]), dt)
    np.testing.assert_allclose(fas2[1], 2 * fas, rtol=1e-12)


def test_channel_metrics_consistent_with_single_metrics() -> None:
    """The one-call summary equals the single functions applied to the processed record."""
    x = _record(3, 4000)
    m = channel_metrics(x, 100.0)
    p = peak_motion(x, 100.0)
    assert (m.pga_mps2, m.pgv_mps, m.pgd_m) == (p.pga_mps2, p.pgv_mps, p.pgd_m)
    # processed record rebuilt with SciPy (ObsPy zerophase: forward, then backward, no padding)
    sos = signal.butter(4, 0.1, btype="highpass", fs=100.0, output="sos")
    ap = signal.sosfilt(sos, x - x.mean())
    ap = signal.sosfilt(sos, ap[::-1])[::-1]
    assert m.arias_mps == pytest.approx(arias_intensity(ap, 0.01), rel=1e-9)
    assert m.cav_mps == pytest.approx(cav(ap, 0.01), rel=1e-9)
    assert m.d5_75_s == pytest.approx(significant_duration(ap, 0.01, 0.05, 0.75), rel=1e-9)
    assert m.d5_95_s == pytest.approx(significant_duration(ap, 0.01), rel=1e-9)
    spec = response_spectrum(ap, 0.01)
    np.testing.assert_allclose(m.spectrum.sa_mps2, spec.sa_mps2, rtol=1e-9)
    np.testing.assert_array_equal(m.spectrum.periods_s, NGA_WEST2_PERIODS_S)
    assert m.processing.n_samples == 4000 and m.processing.fs_hz == 100.0


def test_station_metrics_components_and_intensity() -> None:
    e, n, u = _record(1, 3000), _record(2, 3000), 0.5 * _record(3, 3000)
    s = station_metrics(e, n, u, 100.0)
    for comp, x in ((s.east, e), (s.north, n), (s.up, u)):
        single = channel_metrics(x, 100.0)
        assert comp.pga_mps2 == single.pga_mps2 and comp.d5_95_s == single.d5_95_s
        np.testing.assert_array_equal(comp.spectrum.sd_m, single.spectrum.sd_m)
    assert s.intensity == instrumental_intensity(e, n, u, 100.0)
    with pytest.raises(ValueError, match="same length"):
        station_metrics(e, n, u[:-1], 100.0)
