"""Tests for quakewatch.ext.mine_source (issue [7], event size and indicators).

Oracles
-------
* A Brune (1970) point source with known ``M0`` and ``fc``.  The far-field
  displacement is ``u(t) = Omega0 (2 pi fc)^2 t exp(-2 pi fc t)`` (t >= 0),
  whose Fourier transform is ``Omega0 wc^2 / (wc + i w)^2``, modulus
  ``Omega0 / (1 + (f / fc)^2)``, with ``Omega0 = Rc Fs M0 / (4 pi rho v^3 R)``
  (the far-field term of a double couple).  Two synthetics:
  - time domain: the analytic ``u(t)`` differenced over one sample,
    ``v_k = (u(t_k + dt/2) - u(t_k - dt/2)) / dt``, with seeded noise;
  - frequency domain: the analytic velocity spectrum on a long FFT grid
    (band-limited, no sampling artefact), which checks the kernel tightly.
* Radiated energy from the moment-rate function, independent of the
  station formulas: ``E_P = int Mdd0^2 dt / (15 pi rho alpha^5)``,
  ``E_S = int Mdd0^2 dt / (10 pi rho beta^5)`` with, for Brune,
  ``int Mdd0^2 dt = 2 int_0^inf (2 pi f)^2 M0^2 / (1 + (f/fc)^2)^2 df
  = 2 pi^3 M0^2 fc^3`` (``int_0^inf x^2 / (1 + x^2)^2 dx = pi / 4``; checked
  below by quadrature and by the time-domain integral ``wc^3 / 4``).
* Hanks & Kanamori (1979) ``M = (2/3) log10 M0 - 10.7`` with M0 in dyne cm.
* Hand arithmetic for the combination, the energy-moment fit, the energy
  index and the apparent volume.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from quakewatch.ext.mine_source import (
    EventSource,
    Phase,
    StationSource,
    apparent_volume,
    combine,
    cumulative_apparent_volume,
    energy_index,
    fit_energy_moment,
    moment_magnitude,
    source_parameters,
)
from scipy import integrate

FS = 6000.0
RHO = 2700.0
ALPHA = 6000.0
BETA = 3500.0
R = 500.0
M0 = 1.0e10
N = 3000  # 0.5 s window
T0 = 0.1  # pulse onset in the window, s
RC = {"P": 0.52, "S": 0.63}
SPEED = {"P": ALPHA, "S": BETA}


def omega0(phase: str, free_surface: float = 1.0) -> float:
    v = SPEED[phase]
    return RC[phase] * free_surface * M0 / (4.0 * math.pi * RHO * v**3 * R)


def brune_energy(phase: str, fc: float) -> float:
    """Radiated energy of the phase from int Mdd0^2 dt = 2 pi^3 M0^2 fc^3."""
    mdd2 = 2.0 * math.pi**3 * M0**2 * fc**3
    if phase == "P":
        return mdd2 / (15.0 * math.pi * RHO * ALPHA**5)
    return mdd2 / (10.0 * math.pi * RHO * BETA**5)


def time_domain_pulse(om0: float, fc: float) -> np.ndarray:
    dt = 1.0 / FS
    t = np.arange(N) * dt
    wc = 2.0 * math.pi * fc

    def u(tt: np.ndarray) -> np.ndarray:
        tau = np.clip(tt - T0, 0.0, None)
        return om0 * wc**2 * tau * np.exp(-wc * tau)

    return (u(t + 0.5 * dt) - u(t - 0.5 * dt)) / dt


def frequency_domain_pulse(om0: float, fc: float, q: float | None = None, v: float = ALPHA) -> np.ndarray:
    n_long = 1 << 16
    f = np.fft.rfftfreq(n_long, 1.0 / FS)
    w = 2.0 * math.pi * f
    wc = 2.0 * math.pi * fc
    spec = 1j * w * om0 * wc**2 / (wc + 1j * w) ** 2 * np.exp(-1j * w * T0)
    if q is not None:
        spec = spec * np.exp(-math.pi * f * R / (q * v))
    return np.fft.irfft(spec, n_long)[:N] * FS


def three_components(trace: np.ndarray, rng: np.random.Generator, noise: float) -> np.ndarray:
    """Split the vector pulse over 3 components (unit direction) and add white noise."""
    direction = np.array([0.48, 0.64, 0.6])  # |direction| = 1
    sigma = noise * float(np.abs(trace).max())
    return trace[:, None] * direction[None, :] + sigma * rng.standard_normal((trace.size, 3))


# ----------------------------------------------------------------------------- oracle checks


@pytest.mark.reference
def test_brune_energy_integral_by_quadrature_and_time_domain() -> None:
    fc = 37.0
    one_sided, _ = integrate.quad(lambda f: (2 * math.pi * f) ** 2 / (1 + (f / fc) ** 2) ** 2, 0, np.inf)
    assert one_sided == pytest.approx(math.pi**3 * fc**3, rel=1e-8)
    wc = 2 * math.pi * fc  # int_0^inf (wc^2 (1 - wc t) e^{-wc t})^2 dt = wc^3 / 4 (Parseval: 2 x one-sided)
    td, _ = integrate.quad(lambda t: (wc**2 * (1 - wc * t) * math.exp(-wc * t)) ** 2, 0, np.inf)
    assert td == pytest.approx(2 * math.pi**3 * fc**3, rel=1e-8)
    assert td == pytest.approx(wc**3 / 4, rel=1e-12)


@pytest.mark.reference
def test_moment_magnitude_hanks_kanamori() -> None:
    # 1e10 N m = 1e17 dyne cm: M = (2/3) 17 - 10.7
    assert moment_magnitude(1.0e10) == pytest.approx(2.0 / 3.0 * 17.0 - 10.7, abs=1e-12)
    assert moment_magnitude(1.0e9) == pytest.approx(2.0 / 3.0 * 16.0 - 10.7, abs=1e-12)


# ----------------------------------------------------------------------------- one station


@pytest.mark.reference
@pytest.mark.parametrize("phase", ["P", "S"])
@pytest.mark.parametrize("fc", [20.0, 50.0, 150.0])
def test_brune_time_domain_pulse_recovered(phase: str, fc: float) -> None:
    rng = np.random.default_rng(int(fc) + (0 if phase == "P" else 1000))
    vel = three_components(time_domain_pulse(omega0(phase), fc), rng, noise=1e-3)
    res = source_parameters(
        vel, FS, distance_m=R, phase=phase, velocity_mps=SPEED[phase], density_kgpm3=RHO, band_hz=(4.0, 1200.0)
    )
    assert res.phase is Phase(phase)
    assert res.moment_nm == pytest.approx(M0, rel=0.10)
    assert res.corner_frequency_hz == pytest.approx(fc, rel=0.10)
    assert res.energy_j == pytest.approx(brune_energy(phase, fc), rel=0.10)
    assert res.moment_magnitude == pytest.approx(moment_magnitude(M0), abs=0.03)
    assert res.band_hz == (4.0, 1200.0)
    assert 0.5 < res.energy_band_fraction <= 1.0


@pytest.mark.reference
@pytest.mark.parametrize("fc", [20.0, 150.0, 400.0])
def test_brune_band_limited_spectrum_recovered_tightly(fc: float) -> None:
    vel = frequency_domain_pulse(omega0("P"), fc)
    res = source_parameters(vel, FS, distance_m=R, phase="P", velocity_mps=ALPHA, density_kgpm3=RHO)
    assert res.band_hz == pytest.approx((2.0 * FS / N, 0.4 * FS))
    assert res.moment_nm == pytest.approx(M0, rel=0.02)
    assert res.corner_frequency_hz == pytest.approx(fc, rel=0.02)
    assert res.energy_j == pytest.approx(brune_energy("P", fc), rel=0.02)
    assert res.fit_rms_log10 < 0.01


@pytest.mark.reference
def test_attenuation_correction() -> None:
    fc, q = 100.0, 60.0  # t* = R / (Q v) = 1.4 ms: the uncorrected spectrum is pulled down
    vel = frequency_domain_pulse(omega0("P"), fc, q=q)
    kw = {"distance_m": R, "phase": "P", "velocity_mps": ALPHA, "density_kgpm3": RHO}
    corrected = source_parameters(vel, FS, q=q, **kw)
    assert corrected.corner_frequency_hz == pytest.approx(fc, rel=0.02)
    assert corrected.energy_j == pytest.approx(brune_energy("P", fc), rel=0.02)
    raw = source_parameters(vel, FS, **kw)
    assert raw.energy_j < 0.8 * brune_energy("P", fc)


@pytest.mark.reference
def test_free_surface_and_radiation_scaling() -> None:
    fc = 50.0
    vel = frequency_domain_pulse(omega0("S", free_surface=2.0), fc)
    res = source_parameters(
        vel, FS, distance_m=R, phase="S", velocity_mps=BETA, density_kgpm3=RHO, free_surface=2.0
    )
    assert res.moment_nm == pytest.approx(M0, rel=0.02)
    assert res.energy_j == pytest.approx(brune_energy("S", fc), rel=0.02)
    # a station on the lobe (Rc = 1) of the same source: the amplitude grows by 1 / 0.63
    vel_lobe = frequency_domain_pulse(omega0("S") / RC["S"], fc)
    lobe = source_parameters(vel_lobe, FS, distance_m=R, phase="S", velocity_mps=BETA, density_kgpm3=RHO, radiation=1.0)
    assert lobe.moment_nm == pytest.approx(M0, rel=0.02)
    assert lobe.energy_j == pytest.approx(brune_energy("S", fc), rel=0.02)


def test_apparent_stress_per_station() -> None:
    vel = frequency_domain_pulse(omega0("P"), 50.0)
    p = source_parameters(vel, FS, distance_m=R, phase="P", velocity_mps=ALPHA, density_kgpm3=RHO)
    assert p.shear_modulus_pa == pytest.approx(RHO * ALPHA**2 / 3.0)
    assert p.apparent_stress_pa == pytest.approx(p.shear_modulus_pa * p.energy_j / p.moment_nm, rel=1e-12)
    p2 = source_parameters(
        vel, FS, distance_m=R, phase="P", velocity_mps=ALPHA, density_kgpm3=RHO, shear_velocity_mps=BETA
    )
    assert p2.shear_modulus_pa == pytest.approx(RHO * BETA**2)


def test_one_dimensional_input_and_no_mutation() -> None:
    vel = time_domain_pulse(omega0("P"), 50.0)
    before = vel.copy()
    kw = {"distance_m": R, "phase": "P", "velocity_mps": ALPHA, "density_kgpm3": RHO}
    one = source_parameters(vel, FS, **kw)
    three = source_parameters(np.column_stack([vel, np.zeros_like(vel), np.zeros_like(vel)]), FS, **kw)
    np.testing.assert_array_equal(vel, before)
    assert one.moment_nm == pytest.approx(three.moment_nm, rel=1e-12)
    assert one.energy_j == pytest.approx(three.energy_j, rel=1e-12)


# ----------------------------------------------------------------------------- combination


def _station(phase: str, m0: float, fc: float, e: float, mu: float = 3.0e10) -> StationSource:
    return StationSource(
        phase=Phase(phase),
        moment_nm=m0,
        corner_frequency_hz=fc,
        omega0_ms=1.0,
        energy_j=e,
        energy_band_fraction=1.0,
        moment_magnitude=moment_magnitude(m0),
        apparent_stress_pa=mu * e / m0,
        shear_modulus_pa=mu,
        band_hz=(1.0, 100.0),
        fit_rms_log10=0.0,
        n_fit_bins=20,
        distance_m=500.0,
    )


@pytest.mark.reference
def test_combine_by_hand() -> None:
    st = [
        _station("P", 1.0e10, 80.0, 1.0e4),
        _station("P", 1.0e12, 20.0, 1.0e6),
        _station("S", 1.0e11, 40.0, 4.0e6),
    ]
    ev = combine(st)
    assert isinstance(ev, EventSource)
    # log10 M0 = 10, 12, 11: mean 11, sample sd 1
    assert ev.moment_nm == pytest.approx(1.0e11)
    assert ev.moment_log10_std == pytest.approx(1.0)
    assert ev.energy_p_j == pytest.approx(1.0e5)  # sqrt(1e4 * 1e6)
    assert ev.energy_s_j == pytest.approx(4.0e6)
    assert ev.energy_j == pytest.approx(4.1e6)
    assert ev.energy_log10_std == pytest.approx(math.sqrt(2.0))  # P: devs +-1, 1 dof; S: 0 dof
    assert ev.corner_frequency_p_hz == pytest.approx(40.0)
    assert ev.corner_frequency_s_hz == pytest.approx(40.0)
    assert ev.apparent_stress_pa == pytest.approx(3.0e10 * 4.1e6 / 1.0e11)  # 1.23 MPa
    assert ev.moment_magnitude == pytest.approx(2.0 / 3.0 * 18.0 - 10.7)
    assert ev.phases == (Phase.P, Phase.S)
    assert ev.n_stations == 3


def test_combine_single_phase_and_override_mu() -> None:
    ev = combine([_station("S", 1.0e10, 30.0, 1.0e4)], shear_modulus_pa=2.0e10)
    assert math.isnan(ev.energy_p_j) and math.isnan(ev.corner_frequency_p_hz)
    assert ev.energy_j == pytest.approx(1.0e4)
    assert ev.moment_log10_std == 0.0
    assert ev.apparent_stress_pa == pytest.approx(2.0e10 * 1.0e4 / 1.0e10)
    assert ev.phases == (Phase.S,)


# ----------------------------------------------------------------------------- indicators


@pytest.mark.reference
def test_fit_energy_moment_by_hand() -> None:
    m0 = np.array([1e9, 1e10, 1e11])
    e = 10.0 ** np.array([2.9, 4.6, 5.9])
    before = e.copy()
    fit = fit_energy_moment(e, m0)
    # x = 9, 10, 11; y = 2.9, 4.6, 5.9: d = (1.5667 + 1.4333) / 2 = 1.5; c = 4.4667 - 15
    assert fit.d == pytest.approx(1.5)
    assert fit.c == pytest.approx(13.4 / 3.0 - 15.0)
    # residuals -1/15, 2/15, -1/15: sum of squares 6/225, one dof
    assert fit.residual_std_log10 == pytest.approx(math.sqrt(6.0 / 225.0))
    assert fit.n == 3
    np.testing.assert_array_equal(e, before)


@pytest.mark.reference
def test_energy_index_by_hand() -> None:
    ei = energy_index([1.0e5, 10.0**4.5, 1.0e3], [1.0e10, 1.0e10, 1.0e8], c=-10.5, d=1.5)
    # E_fit(1e10) = 10^4.5, E_fit(1e8) = 10^1.5
    np.testing.assert_allclose(ei, [10.0**0.5, 1.0, 10.0**1.5], rtol=1e-12)
    assert ei.dtype == np.float64


@pytest.mark.reference
def test_apparent_volume_and_cumulative_by_hand() -> None:
    va = apparent_volume([2.0e10, 1.0e10], [1.0e5, 5.0e4], 3.0e10)
    # 4e20 / 6e15 = 66666.67; 1e20 / 3e15 = 33333.33
    np.testing.assert_allclose(va, [4.0e20 / 6.0e15, 1.0e20 / 3.0e15], rtol=1e-12)
    t = np.array([30.0, 10.0, 20.0])
    cum = cumulative_apparent_volume(t, [2.0e10, 1.0e10, 3.0e10], [1.0e5, 5.0e4, 1.5e5], 3.0e10)
    np.testing.assert_array_equal(cum.time_s, [10.0, 20.0, 30.0])
    expected = np.array([1.0e20 / 3.0e15, 9.0e20 / 9.0e15, 4.0e20 / 6.0e15])
    np.testing.assert_allclose(cum.apparent_volume_m3, expected, rtol=1e-12)
    np.testing.assert_allclose(cum.cumulative_m3, np.cumsum(expected), rtol=1e-12)
    np.testing.assert_array_equal(t, [30.0, 10.0, 20.0])


# ----------------------------------------------------------------------------- bad input

_GOOD = {"distance_m": R, "phase": "P", "velocity_mps": ALPHA}


@pytest.mark.parametrize(
    ("velocity", "kwargs", "match"),
    [
        (np.zeros(8), {}, r"velocity needs at least 16 samples"),
        (np.zeros((100, 4)), {}, r"velocity must have shape"),
        (np.full(100, np.nan), {}, r"velocity must be finite"),
        (None, {"phase": "Q"}, r"phase must be one of"),
        (None, {"distance_m": 0.0}, r"distance_m must be finite and > 0"),
        (None, {"velocity_mps": -1.0}, r"velocity_mps must be finite and > 0"),
        (None, {"radiation": 1.5}, r"radiation must be within \(0, 1\]"),
        (None, {"free_surface": 3.0}, r"free_surface must be within \[1, 2\]"),
        (None, {"q": 0.0}, r"q must be finite and > 0"),
        (None, {"taper": 1.5}, r"taper must be within \[0, 1\]"),
        (None, {"band_hz": (100.0, 4000.0)}, r"band_hz must satisfy 0 < f_lo < f_hi <= fs/2 = 3000"),
        (None, {"band_hz": (100.0, 200.0)}, r"band_hz must span at least 0.4 decade"),
    ],
)
def test_source_parameters_rejects_bad_input(velocity: np.ndarray | None, kwargs: dict, match: str) -> None:
    vel = time_domain_pulse(omega0("P"), 50.0) if velocity is None else velocity
    with pytest.raises(ValueError, match=match):
        source_parameters(vel, FS, **{**_GOOD, **kwargs})


def test_indicator_functions_reject_bad_input() -> None:
    with pytest.raises(ValueError, match=r"energy_j needs at least 3 events"):
        fit_energy_moment([1.0, 2.0], [1.0, 2.0])
    with pytest.raises(ValueError, match=r"moment_nm must not be \(nearly\) constant"):
        fit_energy_moment([1.0, 2.0, 3.0], [5.0, 5.0, 5.0])
    with pytest.raises(ValueError, match=r"arrays must have the same length"):
        energy_index([1.0, 2.0], [1.0], c=0.0, d=1.0)
    with pytest.raises(ValueError, match=r"energy_j must be finite and > 0"):
        energy_index([1.0, -2.0], [1.0, 2.0], c=0.0, d=1.0)
    with pytest.raises(ValueError, match=r"c and d must be finite"):
        energy_index([1.0], [1.0], c=math.nan, d=1.0)
    with pytest.raises(ValueError, match=r"mu_pa must be finite and > 0"):
        apparent_volume([1.0], [1.0], 0.0)
    with pytest.raises(ValueError, match=r"stations must hold at least 1"):
        combine([])
    with pytest.raises(ValueError, match=r"moment_nm must be finite and > 0"):
        moment_magnitude(0.0)
