"""Synthetic earthquake records: stochastic point-source ground motion [Boore2003] and the
response of a structure's modal model to it.

Ground motion
-------------
The Fourier amplitude spectrum (FAS) of acceleration of one horizontal S-wave component,
in m/s (acceleration x time), is [Boore2003]

    A(f) = C M0 S(f) (2 pi f)^2 Z(R) exp(-pi f R / (Q(f) c_Q)) exp(-pi kappa0 f) G(f)

* source: ``C = R_thetaphi V F / (4 pi rho beta^3 R0)`` with radiation pattern
  ``R_thetaphi``, partition into two horizontal components ``V = 1/sqrt(2)``, free
  surface ``F = 2``, ``R0 = 1 km``; moment ``log10 M0 = 1.5 Mw + 9.05`` (N m) [HK1979];
  Brune omega-squared shape ``S(f) = 1 / (1 + (f/fc)^2)`` with
  ``fc = 4.906e6 beta (stress / M0)^(1/3)`` (beta km/s, stress bar, M0 dyne-cm) [Brune1970];
* geometric spreading ``Z(R)``: ``1/R`` to 40 km, ``R^-0.5`` beyond (continuous)
  [AS2000]; anelastic ``Q(f) = 180 f^0.45``, ``c_Q = beta`` [AS2000, Raoof1999];
* site: ``kappa0 = 0.035 s`` and the generic-rock amplification ``G(f)`` of [BJ1997]
  (``site="none"`` gives ``G = 1``);
* distance: the amplitude uses ``R = sqrt(R_hyp^2 + h(M)^2)`` with the finite-fault
  factor ``log10 h = -0.405 + 0.235 M`` [YA2015], so that large events saturate near the
  source; arrival times use the hypocentral distance ``R_hyp``.

Default parameters are those of a western-North-America (active crust) rock site; the
values and the source of each are data in :class:`StochasticParameters`.

Time series (the stochastic method, [Boore2003]): Gaussian white noise is multiplied by
the Saragoni-Hart window ``w(t) = a (t/t_eta)^b exp(-c t/t_eta)``, ``b = -eps ln(eta) /
(1 + eps (ln(eps) - 1))``, ``c = b/eps``, ``a = (e/eps)^b``, ``eps = 0.2``,
``eta = 0.05``, ``t_eta = 2 T_gm``, with ground-motion duration
``T_gm = 1/fc + 0.05 R_hyp`` (source duration + path duration [AS2000]). Its spectrum is
normalised to unit mean-square amplitude and multiplied by ``A(f)``; the inverse FFT
(divided by ``dt``) is the acceleration, so that the expected squared FAS of the record
is ``A(f)^2``.

Phases and components (plausible simplifications, stated here): the S phase starts at
``R_hyp / beta``; E and N are independent realisations of ``A(f)``; Z carries the same
spectrum times ``V/H = 0.6`` (rock V/H ratio of peak motions, typically 0.5-0.7).
The P phase starts at ``R_hyp / alpha`` (alpha = 6 km/s) with the same source shape but
``rho alpha^3`` in ``C``, P radiation pattern 0.52 [BB1984], no horizontal partition,
the S corner (the lower end of observed P/S corner ratios 1-1.5; [Madariaga1976]'s 1.5
makes the P peak ~0.6 of the S peak instead of ~0.3) and ``c_Q = alpha``; it is recorded on Z, and on the
radial horizontal direction (along the back-azimuth) with factor 0.35. Both phases use
the same window length. The filter is zero-phase, so a phase's energy leaks slightly
before its onset; everything before the P onset is set to exactly zero.

Structural response
-------------------
Each mode ``j`` is a base-excited damped oscillator per unit modal mass,
``q'' + 2 zeta w q' + w^2 q = -Gamma_j a_j(t)``, where ``a_j`` is the ground acceleration
along the direction of the channel with the largest ``|mode_shapes[:, j]|`` (ModalModel
carries no mode directions: this is the stated simplification). ``Gamma_j`` defaults to
the roof-normalised participation factor of the k-th mode of a uniform cantilever shear
beam, ``4 / ((2k - 1) pi)`` [Chopra], k = 1, 2, ... the order of mode j among the modes
of that direction. Channel ``c`` records the absolute acceleration
``d_c . a_g(t) + sum_j mode_shapes[c, j] q''_j(t)``, with ``d_c`` the channel's unit
vector from azimuth and dip [SEED]. Channels below the surface (``z_m < 0``: mine levels,
tunnel linings) record only ``d_c . a_g``. Each oscillator is discretised exactly for
piecewise-linear (first-order-hold) input [Franklin], the assumption of the exact
response-spectrum recurrences [NJ1969].

References
----------
AS2000 : G. M. Atkinson, W. Silva, Stochastic modeling of California ground motions,
    BSSA 90(2), 255-274, 2000 (spreading 1/R to 40 km then R^-0.5, Q = 180 f^0.45,
    path duration 0.05 R).
BB1984 : D. M. Boore, J. Boatwright, Average body-wave radiation coefficients, BSSA
    74(5), 1615-1621, 1984 (P 0.52, S 0.63 over the focal sphere; 0.55 for S is
    the value used in SMSIM's WNA parameter file).
BJ1997 : D. M. Boore, W. B. Joyner, Site amplifications for generic rock sites, BSSA
    87(2), 327-341, 1997 (generic rock amplification, kappa0 = 0.035 s). The table in
    ``StochasticParameters.site_amp`` was transcribed from a secondary copy and not
    checked against the primary text: keep it replaceable.
Boore2003 : D. M. Boore, Simulation of ground motion using the stochastic method,
    Pure Appl. Geophys. 160, 635-676, 2003.
Brune1970 : J. N. Brune, Tectonic stress and the spectra of seismic shear waves from
    earthquakes, JGR 75(26), 4997-5009, 1970.
Chopra : A. K. Chopra, Dynamics of Structures, 4th ed., Prentice Hall, 2012.
Franklin : G. F. Franklin, J. D. Powell, M. Workman, Digital Control of Dynamic
    Systems, 3rd ed., 1998 (exact first-order-hold discretisation).
HK1979 : T. C. Hanks, H. Kanamori, A moment magnitude scale, JGR 84(B5), 2348-2350, 1979.
HM1981 : T. C. Hanks, R. K. McGuire, The character of high-frequency strong ground
    motion, BSSA 71(6), 2071-2095, 1981 (stress parameter ~100 bar for California).
Madariaga1976 : R. Madariaga, Dynamics of an expanding circular fault, BSSA 66(3),
    639-666, 1976 (P corner frequency ~1.5 times the S corner).
NJ1969 : N. C. Nigam, P. C. Jennings, Calculation of response spectra from
    strong-motion earthquake records, BSSA 59(2), 909-922, 1969.
Raoof1999 : M. Raoof, R. B. Herrmann, L. Malagnini, Attenuation and excitation of
    three-component ground motion in southern California, BSSA 89(4), 888-902, 1999.
SEED : SEED Reference Manual v2.4 (azimuth from north, dip -90 = up).
YA2015 : E. Yenier, G. M. Atkinson, Regionally adjustable generic ground-motion
    prediction equation based on equivalent point-source simulations, BSSA 105(4),
    1989-2009, 2015 (finite-fault factor h(M)).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
from scipy.fft import irfft, next_fast_len, rfft, rfftfreq
from scipy.signal import cont2discrete, lfilter, ss2tf

from .synthetic import ChannelLayout, ModalModel

__all__ = [
    "QuakeMotion",
    "StochasticParameters",
    "WNA_ROCK",
    "channel_directions",
    "corner_frequency_hz",
    "fourier_amplitude_spectrum",
    "moment_nm",
    "saragoni_hart_window",
    "stochastic_ground_motion",
    "structure_response",
]

MAG_RANGE = (2.0, 8.5)
DISTANCE_RANGE_KM = (0.0, 500.0)
DEPTH_RANGE_KM = (0.5, 100.0)
MIN_FS_HZ = 10.0


@dataclass(frozen=True)
class StochasticParameters:
    """Source, path and site parameters of the stochastic model (SI units), as data.

    Attributes
    ----------
    density_kgpm3, vs_mps, vp_mps : float
        Density and S/P velocities near the source.
    stress_bar : float
        Brune stress parameter in bar (1 bar = 0.1 MPa).
    radiation_s, radiation_p : float
        Average radiation-pattern coefficients of S and P.
    partition_s : float
        Partition of S energy into one horizontal component.
    free_surface : float
        Free-surface amplification.
    fc_p_over_fc_s : float
        P corner frequency over S corner frequency.
    spreading : tuple of (r_km, exponent)
        Piecewise power-law geometric spreading: exponent applies from r_km on.
    q0, q_eta : float
        ``Q(f) = q0 f^q_eta``.
    kappa0_s : float
        High-frequency diminution ``exp(-pi kappa0 f)``, s.
    path_duration_s_per_km : float
        Path duration per km of hypocentral distance.
    vh_ratio_s : float
        Vertical / horizontal amplitude factor of the S phase.
    p_horizontal : float
        Radial-horizontal / vertical amplitude factor of the P phase.
    finite_fault_h : (float, float)
        ``log10 h_km = h0 + h1 M``.
    site_freq_hz, site_amp : tuple of float
        Site amplification table (log-log interpolation, constant beyond the ends).
    sources : dict
        Where each value comes from.
    """

    density_kgpm3: float = 2720.0
    vs_mps: float = 3500.0
    vp_mps: float = 6000.0
    stress_bar: float = 100.0
    radiation_s: float = 0.55
    radiation_p: float = 0.52
    partition_s: float = 1.0 / math.sqrt(2.0)
    free_surface: float = 2.0
    fc_p_over_fc_s: float = 1.0
    spreading: tuple[tuple[float, float], ...] = ((1.0, -1.0), (40.0, -0.5))
    q0: float = 180.0
    q_eta: float = 0.45
    kappa0_s: float = 0.035
    path_duration_s_per_km: float = 0.05
    vh_ratio_s: float = 0.6
    p_horizontal: float = 0.35
    finite_fault_h: tuple[float, float] = (-0.405, 0.235)
    site_freq_hz: tuple[float, ...] = (0.01, 0.09, 0.16, 0.51, 0.84, 1.25, 2.26, 3.17, 6.05, 16.6, 61.2)
    site_amp: tuple[float, ...] = (1.00, 1.10, 1.18, 1.42, 1.58, 1.74, 2.06, 2.25, 2.58, 3.13, 4.00)
    sources: dict[str, str] = field(default_factory=lambda: {
        "density, vs, radiation_s, partition_s, free_surface": "SMSIM WNA parameter file (Boore), [Boore2003]",
        "vp": "typical crustal P velocity, 6.0 km/s",
        "stress_bar": "[HM1981] ~100 bar for California; [Boore2003] single-corner practice",
        "radiation_p": "[BB1984]",
        "fc_p_over_fc_s": "lower end of the observed 1.0-1.5 range ([Madariaga1976] gives 1.5)",
        "spreading, q0, q_eta, path_duration": "[AS2000], [Raoof1999]",
        "kappa0, site_amp": "[BJ1997] generic rock (table transcribed from a secondary copy, unverified)",
        "finite_fault_h": "[YA2015]",
        "vh_ratio_s, p_horizontal": "plausible values, not derived",
    })


WNA_ROCK = StochasticParameters()


@dataclass(frozen=True, eq=False)
class QuakeMotion:
    """A synthetic three-component free-field earthquake record.

    Attributes
    ----------
    acc_mps2 : ndarray, float64, shape (3, n_samples)
        Ground acceleration in m/s^2, rows E, N, Z (Z up); read-only. Exactly zero
        before ``p_arrival_s``.
    fs_hz : float
        Sampling rate in Hz.
    p_arrival_s, s_arrival_s : float
        P and S onsets in s from the first sample.
    magnitude, distance_km, depth_km, hypocentral_km : float
        Moment magnitude, epicentral distance, depth and hypocentral distance.
    stress_bar, kappa0_s : float
        Stress parameter and kappa0 used.
    corner_hz : float
        Brune S corner frequency.
    motion_duration_s : float
        Ground-motion duration ``T_gm`` (source + path) in s.
    backazimuth_deg : float
        Direction from the site to the epicentre, clockwise from north (P radial motion).
    seed : int
        Seed of the noise.
    site : str
        ``"generic-rock"`` or ``"none"``.
    """

    acc_mps2: np.ndarray
    fs_hz: float
    p_arrival_s: float
    s_arrival_s: float
    magnitude: float
    distance_km: float
    depth_km: float
    hypocentral_km: float
    stress_bar: float
    kappa0_s: float
    corner_hz: float
    motion_duration_s: float
    backazimuth_deg: float
    seed: int
    site: str

    def provenance(self) -> dict[str, Any]:
        """Algorithm and parameters (JSON-serialisable)."""
        d = {k: v for k, v in asdict(self).items() if k != "acc_mps2"}
        d["algorithm"] = "stochastic point source [Boore2003], quakewatch.ext.stochastic"
        return d


def moment_nm(magnitude: float) -> float:
    """Seismic moment in N m from moment magnitude [HK1979]: ``log10 M0 = 1.5 Mw + 9.05``."""
    return float(10.0 ** (1.5 * magnitude + 9.05))


def corner_frequency_hz(magnitude: float, stress_bar: float, vs_kmps: float) -> float:
    """Brune corner frequency ``4.906e6 beta (stress / M0)^(1/3)`` (beta km/s, bar, dyne-cm)."""
    m0_dyne_cm = moment_nm(magnitude) * 1e7
    return float(4.906e6 * vs_kmps * (stress_bar / m0_dyne_cm) ** (1.0 / 3.0))


def _spreading(r_km: float, segments: tuple[tuple[float, float], ...]) -> float:
    """Continuous piecewise power law ``Z(R)`` (R0 = 1 km)."""
    z, r_prev, slope = 1.0, segments[0][0], segments[0][1]
    for r_start, next_slope in segments[1:]:
        if r_km <= r_start:
            break
        z *= (r_start / r_prev) ** slope
        r_prev, slope = r_start, next_slope
    return z * (max(r_km, segments[0][0]) / r_prev) ** slope


def _site_amp(f_hz: np.ndarray, p: StochasticParameters) -> np.ndarray:
    lf = np.log(np.clip(f_hz, p.site_freq_hz[0], p.site_freq_hz[-1]))
    return np.exp(np.interp(lf, np.log(p.site_freq_hz), np.log(p.site_amp)))


def fourier_amplitude_spectrum(f_hz: np.ndarray, magnitude: float, r_hyp_km: float, *,
                               params: StochasticParameters = WNA_ROCK, phase: Literal["S", "P"] = "S",
                               site: Literal["generic-rock", "none"] = "generic-rock") -> np.ndarray:
    """Target FAS of acceleration of one component, m/s (see module docstring).

    Parameters
    ----------
    f_hz : ndarray
        Frequencies in Hz, >= 0.
    magnitude : float
        Moment magnitude.
    r_hyp_km : float
        Hypocentral distance in km; the finite-fault factor ``h(M)`` is added here.
    params : StochasticParameters
        Model coefficients.
    phase : {"S", "P"}
        ``"S"``: one horizontal S component; ``"P"``: vertical P.
    site : {"generic-rock", "none"}
        Whether to apply the [BJ1997] amplification (kappa0 always applies).

    Returns
    -------
    ndarray, same shape as ``f_hz``
        Fourier amplitude of acceleration in m/s.
    """
    p = params
    f = np.asarray(f_hz, dtype=np.float64)
    h_km = 10.0 ** (p.finite_fault_h[0] + p.finite_fault_h[1] * magnitude)
    r_km = math.hypot(r_hyp_km, h_km)
    m0 = moment_nm(magnitude)
    fc = corner_frequency_hz(magnitude, p.stress_bar, p.vs_mps / 1000.0)
    if phase == "S":
        vel, rad, part = p.vs_mps, p.radiation_s, p.partition_s
    else:
        vel, rad, part, fc = p.vp_mps, p.radiation_p, 1.0, fc * p.fc_p_over_fc_s
    c = rad * part * p.free_surface / (4.0 * np.pi * p.density_kgpm3 * vel**3 * 1000.0)
    source = c * m0 / (1.0 + (f / fc) ** 2) * (2.0 * np.pi * f) ** 2
    f_pos = np.where(f > 0, f, 1.0)
    anelastic = np.where(f > 0, np.exp(-np.pi * f_pos ** (1.0 - p.q_eta) * r_km * 1000.0 / (p.q0 * vel)), 1.0)
    amp = _site_amp(f, p) if site == "generic-rock" else 1.0
    return np.asarray(source * _spreading(r_km, p.spreading) * anelastic * np.exp(-np.pi * p.kappa0_s * f) * amp)


def saragoni_hart_window(t_s: np.ndarray, t_eta_s: float, eps: float = 0.2, eta: float = 0.05) -> np.ndarray:
    """Saragoni-Hart window [Boore2003]: peak 1 at ``eps t_eta``, ``eta`` at ``t_eta``; 0 for t < 0."""
    b = -eps * np.log(eta) / (1.0 + eps * (np.log(eps) - 1.0))
    c, a = b / eps, (np.e / eps) ** b
    x = np.clip(np.asarray(t_s, dtype=np.float64) / t_eta_s, 0.0, None)
    return np.asarray(a * x**b * np.exp(-c * x))


def _phase(rng: np.random.Generator, n_rows: int, amp_spec_fn: Any, t_eta_s: float, fs_hz: float,
           n_lead: int, n_out: int) -> np.ndarray:
    """``n_rows`` windowed-noise realisations shaped by ``amp_spec_fn(f)``; the window starts
    at sample ``n_lead`` of the returned (n_rows, n_out) array."""
    dt = 1.0 / fs_hz
    n_win = max(8, int(math.ceil(t_eta_s * fs_hz)))
    n_fft = next_fast_len(n_out + n_lead, real=True)
    t = np.arange(n_win) * dt
    w = saragoni_hart_window(t, t_eta_s)
    noise = np.zeros((n_rows, n_fft))
    noise[:, n_lead:n_lead + n_win] = rng.standard_normal((n_rows, n_win)) * w
    spec = rfft(noise, axis=1)
    spec /= np.sqrt(np.mean(np.abs(spec) ** 2, axis=1, keepdims=True))
    spec *= amp_spec_fn(rfftfreq(n_fft, dt))
    return np.asarray(irfft(spec, n_fft, axis=1)[:, :n_out] / dt)


def _check_range(name: str, value: float, lo: float, hi: float, unit: str = "") -> float:
    v = float(value)
    if not (math.isfinite(v) and lo <= v <= hi):
        raise ValueError(f"{name} must be within [{lo:g}, {hi:g}]{unit}, got {value}")
    return v


def stochastic_ground_motion(magnitude: float, distance_km: float, fs_hz: float, *, depth_km: float = 10.0,
                             seed: int = 0, duration_s: float | None = None, pre_event_s: float = 5.0,
                             stress_bar: float | None = None, kappa0_s: float | None = None,
                             site: Literal["generic-rock", "none"] = "generic-rock",
                             backazimuth_deg: float | None = None, include_p: bool = True,
                             s_minus_p_s: float | None = None,
                             params: StochasticParameters = WNA_ROCK) -> QuakeMotion:
    """Three-component stochastic point-source acceleration record [Boore2003].

    Parameters
    ----------
    magnitude : float
        Moment magnitude Mw, within [2, 8.5].
    distance_km : float
        Epicentral distance in km, within [0, 500].
    fs_hz : float
        Sampling rate in Hz, >= 10.
    depth_km : float, default 10
        Hypocentre depth in km, within [0.5, 100].
    seed : int, default 0
        Seed of the noise (and of the back-azimuth when not given), >= 0.
    duration_s : float, optional
        Record length in s (the motion is truncated if it is longer). Default: until
        the S window has ended (``t_eta = 2 T_gm`` after the S onset) plus 2 s.
    pre_event_s : float, default 5
        Zero samples before the P onset, s, >= 0.
    stress_bar, kappa0_s : float, optional
        Override ``params.stress_bar`` (> 0) and ``params.kappa0_s`` (>= 0).
    site : {"generic-rock", "none"}
        Site amplification (see module docstring).
    backazimuth_deg : float, optional
        Direction from the site to the epicentre (P radial motion); default drawn
        uniformly from the seed.
    include_p : bool, default True
        Whether to add the P phase.
    s_minus_p_s : float, optional
        S onset this many seconds after the P onset, > 0 (e.g. from a layered velocity
        model's travel times); default ``R_hyp (1/beta - 1/alpha)`` of the constant
        velocities in ``params``.
    params : StochasticParameters
        Model coefficients.

    Returns
    -------
    QuakeMotion
    """
    m = _check_range("magnitude", magnitude, *MAG_RANGE)
    d_km = _check_range("distance_km", distance_km, *DISTANCE_RANGE_KM, " km")
    z_km = _check_range("depth_km", depth_km, *DEPTH_RANGE_KM, " km")
    if not (math.isfinite(fs_hz) and fs_hz >= MIN_FS_HZ):
        raise ValueError(f"fs_hz must be finite and >= {MIN_FS_HZ:g} Hz, got {fs_hz}")
    if operator.index(seed) < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    if not (math.isfinite(pre_event_s) and pre_event_s >= 0):
        raise ValueError(f"pre_event_s must be finite and >= 0, got {pre_event_s}")
    if duration_s is not None and not (math.isfinite(duration_s) and duration_s > pre_event_s):
        raise ValueError(f"duration_s must be finite and > pre_event_s = {pre_event_s:g} s, got {duration_s}")
    if site not in ("generic-rock", "none"):
        raise ValueError(f"site must be 'generic-rock' or 'none', got {site!r}")
    overrides: dict[str, float] = {}
    if stress_bar is not None:
        overrides["stress_bar"] = _check_range("stress_bar", stress_bar, 1.0, 1000.0, " bar")
    if kappa0_s is not None:
        overrides["kappa0_s"] = _check_range("kappa0_s", kappa0_s, 0.0, 0.2, " s")
    p = StochasticParameters(**{**asdict(params), **overrides}) if overrides else params
    fs_hz = float(fs_hz)
    seq = np.random.SeedSequence(operator.index(seed))
    rng_dir, rng_s, rng_p = (np.random.default_rng(s) for s in seq.spawn(3))
    baz = float(rng_dir.uniform(0.0, 360.0)) if backazimuth_deg is None else float(backazimuth_deg) % 360.0

    r_hyp = math.hypot(d_km, z_km)
    fc = corner_frequency_hz(m, p.stress_bar, p.vs_mps / 1000.0)
    t_gm = 1.0 / fc + p.path_duration_s_per_km * r_hyp
    t_eta = 2.0 * t_gm
    t_p = pre_event_s
    if s_minus_p_s is None:
        t_s = t_p + r_hyp * 1000.0 * (1.0 / p.vs_mps - 1.0 / p.vp_mps)
    elif math.isfinite(s_minus_p_s) and s_minus_p_s > 0:
        t_s = t_p + float(s_minus_p_s)
    else:
        raise ValueError(f"s_minus_p_s must be finite and > 0 s, got {s_minus_p_s}")
    # The synthesis never depends on duration_s (which only truncates or pads with zeros),
    # so a shorter record is a prefix of the longer one.
    n_full = int(round((t_s + t_eta + 2.0) * fs_hz))
    n = n_full if duration_s is None else int(round(duration_s * fs_hz))
    i_p, i_s = int(round(t_p * fs_hz)), int(round(t_s * fs_hz))
    # Lead room for the zero-phase filter's precursor: a few periods of the corner.
    n_lead = int(math.ceil(min(3.0 / fc, 60.0) * fs_hz)) + 16

    acc = np.zeros((3, max(n, n_full)))

    def s_spec(f: np.ndarray) -> np.ndarray:
        return fourier_amplitude_spectrum(f, m, r_hyp, params=p, phase="S", site=site)

    s_rows = _phase(rng_s, 3, s_spec, t_eta, fs_hz, n_lead, n_lead + n_full - i_s)
    s_rows[2] *= p.vh_ratio_s
    lo = max(i_s - n_lead, 0)
    acc[:, lo:n_full] += s_rows[:, lo - (i_s - n_lead):]
    if include_p:
        def p_spec(f: np.ndarray) -> np.ndarray:
            return fourier_amplitude_spectrum(f, m, r_hyp, params=p, phase="P", site=site)

        p_row = _phase(rng_p, 1, p_spec, t_eta, fs_hz, n_lead, n_lead + n_full - i_p)[0]
        lo = max(i_p - n_lead, 0)
        seg = p_row[lo - (i_p - n_lead):]
        radial = p.p_horizontal * seg
        # radial = away from the source: opposite the back-azimuth
        acc[0, lo:n_full] -= radial * math.sin(math.radians(baz))
        acc[1, lo:n_full] -= radial * math.cos(math.radians(baz))
        acc[2, lo:n_full] += seg
    acc[:, :i_p] = 0.0  # causal record: nothing before the P onset
    acc = np.ascontiguousarray(acc[:, :n])
    acc.setflags(write=False)
    return QuakeMotion(acc, fs_hz, i_p / fs_hz, i_s / fs_hz, m, d_km, z_km, r_hyp, p.stress_bar, p.kappa0_s,
                       fc, t_gm, baz, operator.index(seed), site)


# --------------------------------------------------------------------------- structures


def channel_directions(layout: Sequence[ChannelLayout]) -> np.ndarray:
    """Unit vectors (E, N, Z-up) of the channels [SEED], float64 shape (n_channels, 3)."""
    az = np.radians([c.azimuth_deg for c in layout])
    dip = np.radians([c.dip_deg for c in layout])
    return np.column_stack([np.cos(dip) * np.sin(az), np.cos(dip) * np.cos(az), -np.sin(dip)])


def _default_participation(model: ModalModel, dirs: np.ndarray) -> np.ndarray:
    """``4 / ((2k - 1) pi)`` with k the order of each mode among modes of its direction."""
    strongest = np.abs(model.mode_shapes).argmax(axis=0)
    keys = [tuple(np.round(dirs[c], 6)) for c in strongest]
    gamma = np.empty(model.n_modes)
    count: dict[tuple[float, ...], int] = {}
    for j in np.argsort(model.frequencies_hz, kind="stable"):
        k = count.get(keys[j], 0) + 1
        count[keys[j]] = k
        gamma[j] = 4.0 / ((2 * k - 1) * np.pi)
    return gamma


def _base_excited_filter(f_hz: float, zeta: float, gamma: float, fs_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """FOH-exact IIR ``(b, a)`` from base acceleration to relative modal acceleration ``q''``."""
    w = 2.0 * np.pi * f_hz
    a_c = np.array([[0.0, 1.0], [-w * w, -2.0 * zeta * w]])
    b_c = np.array([[0.0], [-gamma]])
    c_c = np.array([[-w * w, -2.0 * zeta * w]])
    d_c = np.array([[-gamma]])
    a_d, b_d, c_d, d_d, _ = cont2discrete((a_c, b_c, c_c, d_c), 1.0 / fs_hz, method="foh")
    num, den = ss2tf(a_d, b_d, c_d, d_d)
    return np.asarray(num[0]), np.asarray(den)


def structure_response(model: ModalModel, layout: Sequence[ChannelLayout], ground_acc_mps2: np.ndarray,
                       fs_hz: float, *, participation: Sequence[float] | np.ndarray | None = None) -> np.ndarray:
    """Absolute acceleration at each channel of a structure shaken by ground motion.

    Parameters
    ----------
    model : ModalModel
        Modes of the structure (n_channels rows).
    layout : sequence of ChannelLayout
        One entry per channel (directions from azimuth/dip; ``z_m < 0`` = underground).
    ground_acc_mps2 : ndarray, shape (3, n_samples)
        Free-field acceleration, rows E, N, Z (up), m/s^2, starting from rest.
    fs_hz : float
        Sampling rate in Hz, > 0.
    participation : array-like, shape (n_modes,), optional
        Modal participation factors ``Gamma_j``; default as in the module docstring.

    Returns
    -------
    ndarray, float64, shape (n_channels, n_samples)
        Absolute acceleration in m/s^2 along each channel.
    """
    g = np.asarray(ground_acc_mps2, dtype=np.float64)
    if g.ndim != 2 or g.shape[0] != 3:
        raise ValueError(f"ground_acc_mps2 must have shape (3, n_samples), got {g.shape}")
    if len(layout) != model.n_channels:
        raise ValueError(f"layout has {len(layout)} channels but the model has {model.n_channels}")
    if not (math.isfinite(fs_hz) and fs_hz > 0):
        raise ValueError(f"fs_hz must be finite and > 0, got {fs_hz}")
    dirs = channel_directions(layout)
    if participation is None:
        gamma = _default_participation(model, dirs)
    else:
        gamma = np.asarray(participation, dtype=np.float64)
        if gamma.shape != (model.n_modes,) or not np.all(np.isfinite(gamma)):
            raise ValueError(f"participation must have shape ({model.n_modes},) and be finite")
    proj = dirs @ g
    out = proj.copy()
    above = np.array([c.z_m >= 0 for c in layout])
    if g.shape[1] == 0 or not above.any():
        return np.ascontiguousarray(out)
    strongest = np.abs(model.mode_shapes).argmax(axis=0)
    for j in range(model.n_modes):
        f_j = float(model.frequencies_hz[j])
        if f_j >= 0.5 * fs_hz:
            continue  # above Nyquist: the mode cannot be represented (behaves rigidly)
        b, a = _base_excited_filter(f_j, float(model.damping_ratios[j]), float(gamma[j]), fs_hz)
        q_acc = lfilter(b, a, proj[strongest[j]])
        out[above] += model.mode_shapes[above, j:j + 1] * q_acc
    return np.ascontiguousarray(out)
