"""Response spectra (``quakewatch.ext.motion.response_spectrum``, kernel
``_motion.sdof_peaks``) against independent oracles:

* the NumPy twin: the same first-order-hold recurrence, but its matrices come
  from the matrix exponential of the augmented state matrix (Van Loan), not
  from the closed form of [NJ69], and it runs as a plain Python loop;
* ``scipy.signal.lsim`` with ``interp=True`` (first-order hold, exact for the
  piecewise-linear input the recurrence assumes) on synthetic and real records;
* the closed-form response of an oscillator at rest to ``-A sin(W t)``.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from scipy import linalg, signal

from quakewatch.ext import _motion
from quakewatch.ext.motion import NGA_WEST2_PERIODS_S, response_spectrum

PERIODS_S = np.geomspace(0.01, 10.0, 31)


def _state_space(period_s: float, damping: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """u'' + 2 z w u' + w^2 u = -a: state (u, u'), outputs (u, u'' + a)."""
    w = 2 * np.pi / period_s
    a = np.array([[0.0, 1.0], [-w * w, -2 * damping * w]])
    b = np.array([[0.0], [-1.0]])
    c = np.array([[1.0, 0.0], [-w * w, -2 * damping * w]])
    return a, b, c


def twin(acc: np.ndarray, dt_s: float, periods_s: np.ndarray, damping: float) -> tuple[np.ndarray, np.ndarray]:
    """Slow twin: x[k+1] = Phi x[k] + G0 a[k] + G1 a[k+1] with (Phi, G0, G1) from expm."""
    acc = np.asarray(acc, dtype=np.float64)
    sd, sa = np.zeros(len(periods_s)), np.zeros(len(periods_s))
    for j, period in enumerate(periods_s):
        a, b, c = _state_space(period, damping)
        m = np.zeros((4, 4))
        m[:2, :2], m[:2, 2:3], m[2, 3] = a * dt_s, b * dt_s, 1.0
        e = linalg.expm(m)
        phi, gam1, gam2 = e[:2, :2], e[:2, 2], e[:2, 3]  # gam2 = int_0^dt e^{As} (s/dt) ds b ... (Van Loan)
        g0, g1 = gam1 - gam2, gam2
        x = np.zeros(2)
        for k in range(len(acc) - 1):
            x = phi @ x + g0 * acc[k] + g1 * acc[k + 1]
            y = c @ x
            sd[j], sa[j] = max(sd[j], abs(y[0])), max(sa[j], abs(y[1]))
    return sd, sa


def lsim_peaks(acc: np.ndarray, dt_s: float, period_s: float, damping: float) -> tuple[float, float]:
    a, b, c = _state_space(period_s, damping)
    t = np.arange(len(acc)) * dt_s
    _, y, _ = signal.lsim(signal.StateSpace(a, b, c, np.zeros((2, 1))), acc, t, interp=True)
    return float(np.abs(y[:, 0]).max()), float(np.abs(y[:, 1]).max())


def _broadband(seed: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    env = np.sin(np.linspace(0, np.pi, n)) ** 2
    return rng.normal(0.0, 1.0, n) * env


@pytest.mark.reference
@pytest.mark.parametrize("dtype,rtol", [(np.float32, 1e-9), (np.float64, 1e-9)])
@pytest.mark.parametrize("seed", range(3))
def test_kernel_matches_numpy_twin(dtype: type, rtol: float, seed: int) -> None:
    acc: np.ndarray = (_broadband(seed, 600) * 3.0).astype(dtype)
    periods = np.array([0.005, 0.01, 0.03, 0.1, 0.4, 1.0, 3.0, 10.0])
    sd, sa = _motion.sdof_peaks(acc[None, :].copy(), 0.01, periods, 0.05)
    tsd, tsa = twin(acc, 0.01, periods, 0.05)
    np.testing.assert_allclose(sd[0], tsd, rtol=rtol)
    np.testing.assert_allclose(sa[0], tsa, rtol=rtol)


@pytest.mark.reference
@pytest.mark.parametrize("damping", [0.0, 0.02, 0.05, 0.2])
def test_coefficients_match_matrix_exponential(damping: float) -> None:
    for dt in (0.001, 0.005, 0.01, 0.02):
        coef = _motion.coefficients(dt, PERIODS_S, damping)
        for j, period in enumerate(PERIODS_S):
            a, b, _ = _state_space(period, damping)
            m = np.zeros((4, 4))
            m[:2, :2], m[:2, 2:3], m[2, 3] = a * dt, b * dt, 1.0
            e = linalg.expm(m)
            ref = [e[0, 0], e[0, 1], e[1, 0], e[1, 1], e[0, 2] - e[0, 3], e[0, 3], e[1, 2] - e[1, 3], e[1, 3]]
            w = 2 * np.pi / period
            scale = np.array([1, 1 / w, w, 1, 1 / w**2, 1 / w**2, 1 / w, 1 / w])  # round-off floor near zeros
            err = np.abs(coef[:8, j] - ref)
            assert np.all(err <= 1e-6 * np.abs(ref) + 1e-12 * scale), (period, dt, err)


@pytest.mark.reference
@pytest.mark.parametrize("period_s", PERIODS_S)
def test_exact_against_lsim_at_100_hz(period_s: float) -> None:
    """1 % acceptance, 0.01-10 s at 100 Hz (0.01 s = dt: naive integrators fail there)."""
    acc = _broadband(11, 4000)
    spec = response_spectrum(acc, 0.01, [period_s], 0.05)
    sd, sa = lsim_peaks(acc, 0.01, period_s, 0.05)
    np.testing.assert_allclose(spec.sd_m[0], sd, rtol=1e-6)
    np.testing.assert_allclose(spec.sa_mps2[0], sa, rtol=1e-6)
    w = 2 * np.pi / period_s
    np.testing.assert_allclose(spec.psa_mps2[0], w * w * sd, rtol=1e-6)
    np.testing.assert_allclose(spec.psv_mps[0], w * sd, rtol=1e-6)


def _harmonic_exact(t: np.ndarray, amp: float, big_w: float, period_s: float, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Closed form of u'' + 2 z w u' + w^2 u = -amp sin(W t), u(0) = u'(0) = 0: (u, u'' + a)."""
    w = 2 * np.pi / period_s
    wd = w * np.sqrt(1 - z * z)
    p, q = w * w - big_w**2, 2 * z * w * big_w
    c = -amp * p / (p * p + q * q)
    d = amp * q / (p * p + q * q)
    e0 = -d
    f0 = (z * w * e0 - big_w * c) / wd
    decay = np.exp(-z * w * t)
    u = c * np.sin(big_w * t) + d * np.cos(big_w * t) + decay * (e0 * np.cos(wd * t) + f0 * np.sin(wd * t))
    du = (big_w * c * np.cos(big_w * t) - big_w * d * np.sin(big_w * t)
          + decay * ((wd * f0 - z * w * e0) * np.cos(wd * t) - (wd * e0 + z * w * f0) * np.sin(wd * t)))
    return u, -(2 * z * w * du + w * w * u)


@pytest.mark.reference
@pytest.mark.parametrize("period_s", [0.01, 0.02, 0.05, 0.1, 0.3, 1 / 1.3, 1.0, 2.0, 5.0, 10.0])
def test_harmonic_closed_form(period_s: float) -> None:
    dt, amp, big_w = 0.01, 2.0, 2 * np.pi * 1.3
    t = np.arange(6000) * dt
    u, abs_acc = _harmonic_exact(t, amp, big_w, period_s, 0.05)
    spec = response_spectrum(amp * np.sin(big_w * t), dt, [period_s])
    np.testing.assert_allclose(spec.sd_m[0], np.abs(u).max(), rtol=0.01)
    np.testing.assert_allclose(spec.sa_mps2[0], np.abs(abs_acc).max(), rtol=0.01)


@pytest.mark.reference
def test_zero_period_limit_is_pga() -> None:
    t = np.arange(3000) * 0.01
    acc = np.sin(2 * np.pi * 0.7 * t) * np.exp(-(((t - 12) / 4) ** 2)) + 0.3 * np.sin(2 * np.pi * 3.1 * t)
    spec = response_spectrum(acc, 0.01, [0.001, 0.002])
    np.testing.assert_allclose(spec.sa_mps2, np.abs(acc).max(), rtol=1e-3)


@pytest.mark.reference
def test_free_vibration_after_pulse() -> None:
    """A one-sample triangle of area I leaves u'(t) ~ -I and then free vibration:
    u(t) = -(I / wd) exp(-z w t) sin(wd t) for T >> dt (impulse limit)."""
    dt, period, z = 0.001, 2.0, 0.05
    acc = np.zeros(20001)
    acc[1] = 1.0 / dt  # triangle of area 1 m/s
    w = 2 * np.pi / period
    wd = w * np.sqrt(1 - z * z)
    t = np.arange(len(acc)) * dt - dt  # impulse at the triangle's centre
    u = -(1.0 / wd) * np.exp(-z * w * np.clip(t, 0, None)) * np.sin(wd * np.clip(t, 0, None))
    spec = response_spectrum(acc, dt, [period], z)
    np.testing.assert_allclose(spec.sd_m[0], np.abs(u).max(), rtol=1e-3)


@pytest.mark.reference
def test_real_knet_record_against_lsim() -> None:
    """K-NET AKT013 EW (1996-08-10 M5.9, NIED), ObsPy's test data, 100 Hz."""
    obspy = pytest.importorskip("obspy")
    nied = pytest.importorskip("obspy.io.nied")
    path = os.path.join(os.path.dirname(nied.__file__), "tests", "data", "test.knet")
    tr = obspy.read(path)[0]
    acc = tr.data * tr.stats.calib * 0.01  # gal -> m/s^2
    acc -= acc.mean()
    spec = response_spectrum(acc, tr.stats.delta, NGA_WEST2_PERIODS_S)
    for j, period in enumerate(NGA_WEST2_PERIODS_S):
        sd, sa = lsim_peaks(acc, tr.stats.delta, period, 0.05)
        assert spec.sd_m[j] == pytest.approx(sd, rel=0.01), period
        assert spec.sa_mps2[j] == pytest.approx(sa, rel=0.01), period


def test_two_dimensional_input_equals_rows() -> None:
    acc = np.stack([_broadband(s, 1500) for s in range(3)])
    whole = response_spectrum(acc, 0.01)
    assert whole.sd_m.shape == (3, len(NGA_WEST2_PERIODS_S))
    for k in range(3):
        row = response_spectrum(acc[k], 0.01)
        np.testing.assert_array_equal(whole.sd_m[k], row.sd_m)
        np.testing.assert_array_equal(whole.sa_mps2[k], row.sa_mps2)


@pytest.mark.parametrize("n_periods", [1, 3, 4, 5, 9])
def test_any_number_of_periods(n_periods: int) -> None:
    acc = _broadband(5, 800)
    periods = np.geomspace(0.02, 4.0, n_periods)
    spec = response_spectrum(acc, 0.01, periods)
    for j, period in enumerate(periods):
        assert spec.sd_m[j] == response_spectrum(acc, 0.01, [period]).sd_m[0]
