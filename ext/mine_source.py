"""Source size of mine seismic events: moment, corner frequency, energy, apparent stress.

Issue "[7] Mine seismic monitoring and risk early warning", size part ("seismic
energy from the integrated velocity spectrum, seismic moment from the
low-frequency plateau") and the rolling indicators "apparent stress, energy
index, cumulative apparent volume" (REFERENCES.md, "Mine seismicity").  Arrays
in, frozen dataclasses out; numpy and scipy only.  All arithmetic is float64,
inputs are never modified, and invalid input raises :class:`ValueError` naming
the argument and the limit.

Units: ground velocity m/s, distances m, density kg/m^3, wave speeds m/s,
moment N m, energy J, stress and shear modulus Pa, apparent volume m^3.

One station, one phase: :func:`source_parameters`
-------------------------------------------------
Input is one station's window of ground velocity around one phase (P or S),
``(n_samples,)`` or ``(n_samples, n_components)`` with up to 3 components.

Spectrum
    Each component is demeaned and tapered (Tukey, ``taper`` = total tapered
    fraction), zero-padded to a power of two ``>= 2 n``, and transformed with
    the continuous-transform scaling ``V(f) = dt * rfft(v)`` (m/s * s = m).
    Components are combined as the vector modulus
    ``|V(f)| = sqrt(sum_k |V_k(f)|^2)`` (the spectrum of the particle-motion
    vector, Andrews 1986 [An86]_).  With ``q`` given the anelastic loss is
    undone: ``V(f) <- V(f) exp(pi f R / (Q v))`` (``t* = R / (Q v)``).
    Displacement ``|U(f)| = |V(f)| / (2 pi f)``.
Band
    ``band_hz = (f_lo, f_hi)``; default ``f_lo = 2 / T`` (two cycles in the
    window of duration ``T``) and ``f_hi = 0.4 fs``.  The band should end
    where the signal-to-noise ratio or the sensor response ends: that is the
    caller's (or the plan's) choice and is returned as ``band_hz``.
Omega0 and corner frequency (Brune omega-square model) [Br70]_
    ``|U(f)| = Omega0 / (1 + (f / fc)^2)``                               (1)
    fitted by least squares on ``log10 |U|`` (trust-region reflective,
    ``fc`` bounded to ``[f_lo / 2, 2 f_hi]``) after averaging the power
    spectrum in 10 logarithmic bins per decade over the band, so that every
    decade weighs the same (the raw FFT grid would weight the high
    frequencies by their number).  The starting point comes from the
    spectral integrals of [An86]_ [Sn87]_ over the band,
    ``K = 2 int |U|^2 df``, ``J = 2 int |V|^2 df``: for (1) over all
    frequencies ``fc = sqrt(J / K) / (2 pi)`` and ``Omega0^2 = 2 K / (pi fc)``.
Seismic moment [Br70]_ [GK94]_
    ``M0 = 4 pi rho v^3 R Omega0 / (Rc Fs)``                              (2)
    ``v`` the wave speed of the phase, ``Rc`` the radiation coefficient
    (default the focal-sphere rms averages 0.52 for P and 0.63 for S,
    [BB84]_), ``Fs`` the free-surface amplification (1 for sensors in the
    rock mass, the usual case underground; 2 at a free surface).
Radiated energy of the phase [BF84]_ [GK94]_ [Sn87]_
    ``E_c = 4 pi rho v R^2 (<Rc^2> / Rc^2) J / Fs^2``                     (3)
    with ``J = int v(t)^2 dt = 2 int_0^inf |V(f)|^2 df`` (Parseval) and the
    focal-sphere mean squares ``<Rc^2> = 4/15`` (P) and ``2/5`` (S) (their
    square roots are the 0.52 and 0.63 of [BB84]_).  With ``Rc`` equal to
    the rms average the ratio is ~1 and (3) is the familiar
    ``4 pi rho v R^2 J / Fs^2``; with a station-specific ``Rc`` it corrects
    for the station's place on the radiation pattern.  (A form without
    ``<Rc^2>``, ``4 pi rho v R^2 J / (Rc^2 Fs^2)``, over-counts the energy
    by ``1 / <Rc^2>`` = 3.75 for P and 2.5 for S.)  Equation (3) follows
    from ``E_P = int Mdd0^2 dt / (15 pi rho alpha^5)`` and
    ``E_S = int Mdd0^2 dt / (10 pi rho beta^5)`` for a point double couple.

    ``J`` is measured over the band and extrapolated outside it with the
    fitted model (1) (the finite-bandwidth correction of [DR88]_; [Sn87]_
    extrapolates the same way): with ``G(x) = (arctan x - x / (1 + x^2)) / 2``
    ::

        2 int_a^b (2 pi f)^2 Omega0^2 / (1 + (f/fc)^2)^2 df
            = 8 pi^2 Omega0^2 fc^3 (G(b / fc) - G(a / fc))              (4)

    so the whole model integral is ``2 pi^3 Omega0^2 fc^3``.  The measured
    share, ``energy_band_fraction``, tells how much of ``E`` is
    extrapolated; for the model it is 87 % when the band spans 0 to
    10 ``fc`` (``G(10) / G(inf)``).
Moment magnitude [HK79]_
    ``Mw = (2/3) log10 M0 - 6.033`` (M0 in N m; the paper's
    ``(2/3) log10 M0 - 10.7`` with M0 in dyne cm).
Apparent stress [WB68]_ [Me97]_
    ``sigma_A = mu E / M0`` with ``mu = rho beta^2``; ``beta`` is
    ``shear_velocity_mps`` (default: ``velocity_mps`` for S, and
    ``velocity_mps / sqrt(3)`` for P, a Poisson solid).  Per station it uses
    the energy of that phase only; :func:`combine` uses ``E_P + E_S``.

Several stations: :func:`combine`
    Moment: geometric mean of the station moments (P and S alike), scatter
    ``moment_log10_std`` = sample standard deviation of ``log10 M0``.  Energy
    per phase: geometric mean of the stations of that phase; the event energy
    is ``E = E_P + E_S`` over the phases present (with one phase only it is
    that phase's energy, an underestimate; S carries 96 % of the total for
    equal corner frequencies in a Poisson solid, ``E_S / E_P = 1.5 (alpha / beta)^5``).  ``sigma_A = mu E / M0`` and ``Mw`` from the
    combined values.

Catalogue indicators
--------------------
Energy-moment relation and energy index [vAB93]_ [Me97]_
    ``log10 E = c + d log10 M0`` fitted to the mine's own catalogue by
    ordinary least squares of ``log10 E`` on ``log10 M0``
    (:func:`fit_energy_moment`); ``EI = E / 10^(c + d log10 M0)``
    (:func:`energy_index`).  EI > 1: more energy than the mine's average
    event of that moment (higher stress).  The ``c``, ``d`` used must travel
    with the indices: EI from different fits are not comparable.
Apparent volume [Me97]_
    ``V_A = M0 / (2 sigma_A) = M0^2 / (2 mu E)`` (:func:`apparent_volume`);
    :func:`cumulative_apparent_volume` sums it in time order.

References
----------
.. [An86] Andrews, D. J. (1986). Objective determination of source parameters
   and similarity of earthquakes of different size. In Earthquake Source
   Mechanics, AGU Geophys. Monogr. 37, 259-267.
.. [BB84] Boore, D. M. & Boatwright, J. (1984). Average body-wave radiation
   coefficients. BSSA 74(5), 1615-1621.
.. [BF84] Boatwright, J. & Fletcher, J. B. (1984). The partition of radiated
   energy between P and S waves. BSSA 74(2), 361-376.
.. [Br70] Brune, J. N. (1970). Tectonic stress and the spectra of seismic
   shear waves from earthquakes. JGR 75(26), 4997-5009.
.. [DR88] Di Bona, M. & Rovelli, A. (1988). Effects of the bandwidth
   limitation on stress drops estimated from integrals of the ground motion.
   BSSA 78(5), 1818-1825.
.. [GK94] Gibowicz, S. J. & Kijko, A. (1994). An Introduction to Mining
   Seismology. Academic Press, San Diego.
.. [HK79] Hanks, T. C. & Kanamori, H. (1979). A moment magnitude scale.
   JGR 84(B5), 2348-2350.
.. [Me97] Mendecki, A. J. (ed.) (1997). Seismic Monitoring in Mines. Chapman
   & Hall, London.
.. [Sn87] Snoke, J. A. (1987). Stable determination of (Brune) stress drops.
   BSSA 77(2), 530-538.
.. [vAB93] van Aswegen, G. & Butler, A. G. (1993). Applications of
   quantitative seismology in South African gold mines. Proc. 3rd Int. Symp.
   Rockbursts and Seismicity in Mines, Kingston, 261-266.
.. [WB68] Wyss, M. & Brune, J. N. (1968). Seismic moment, stress, and source
   dimensions for earthquakes in the California-Nevada region. JGR 73(14),
   4681-4694.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy import optimize
from scipy.signal import windows

__all__ = [
    "MINE_SOURCE_ALGORITHM_VERSION",
    "RADIATION_RMS",
    "CumulativeApparentVolume",
    "EnergyMomentFit",
    "EventSource",
    "Phase",
    "StationSource",
    "apparent_volume",
    "combine",
    "cumulative_apparent_volume",
    "energy_index",
    "fit_energy_moment",
    "moment_magnitude",
    "source_parameters",
]

FloatArray = npt.NDArray[np.float64]

#: Bump when a definition in the module docstring changes (goes into provenance).
MINE_SOURCE_ALGORITHM_VERSION: Final = "1"
_MIN_SAMPLES: Final = 16
_MAX_COMPONENTS: Final = 3
_BINS_PER_DECADE: Final = 10
_MIN_FIT_BINS: Final = 4
_MW_OFFSET_NM: Final = 6.0 + 1.0 / 30.0  # 10.7 - (2/3) * 7: dyne cm -> N m


class Phase(StrEnum):
    P = "P"
    S = "S"


#: Focal-sphere rms radiation coefficients [BB84]_.
RADIATION_RMS: Final = {Phase.P: 0.52, Phase.S: 0.63}
#: Focal-sphere mean squares <Rc^2> of a double couple (4/15, 2/5).
_RADIATION_MEAN_SQUARE: Final = {Phase.P: 4.0 / 15.0, Phase.S: 2.0 / 5.0}


@dataclass(frozen=True, slots=True)
class StationSource:
    """Source parameters from one station and one phase (module docstring)."""

    phase: Phase
    moment_nm: float  #: eq. (2)
    corner_frequency_hz: float  #: Brune fc of eq. (1)
    omega0_ms: float  #: low-frequency displacement plateau, m s
    energy_j: float  #: radiated energy of this phase, eq. (3)
    energy_band_fraction: float  #: share of J measured in the band (rest from eq. (4))
    moment_magnitude: float  #: [HK79]_
    apparent_stress_pa: float  #: mu E_phase / M0
    shear_modulus_pa: float
    band_hz: tuple[float, float]
    fit_rms_log10: float  #: rms misfit of log10 |U| over the fitted bins
    n_fit_bins: int
    distance_m: float
    algorithm_version: str = MINE_SOURCE_ALGORITHM_VERSION


@dataclass(frozen=True, slots=True)
class EventSource:
    """Event source parameters combined over stations (:func:`combine`)."""

    moment_nm: float  #: geometric mean over all stations
    moment_log10_std: float  #: sample sd of log10 M0 (0 for one station)
    moment_magnitude: float
    energy_j: float  #: E_P + E_S over the phases present
    energy_p_j: float  #: geometric mean over P stations (NaN if none)
    energy_s_j: float  #: geometric mean over S stations (NaN if none)
    energy_log10_std: float  #: pooled sample sd of log10 E within phases (0 if undefined)
    corner_frequency_p_hz: float  #: geometric mean (NaN if no P)
    corner_frequency_s_hz: float  #: geometric mean (NaN if no S)
    apparent_stress_pa: float  #: mu E / M0
    shear_modulus_pa: float
    phases: tuple[Phase, ...]  #: phases that contributed energy
    n_stations: int
    algorithm_version: str = MINE_SOURCE_ALGORITHM_VERSION


@dataclass(frozen=True, slots=True)
class EnergyMomentFit:
    """``log10 E = c + d log10 M0`` (ordinary least squares of log10 E)."""

    c: float
    d: float
    residual_std_log10: float  #: sd of the log10 E residuals (n - 2 dof)
    n: int
    algorithm_version: str = MINE_SOURCE_ALGORITHM_VERSION


@dataclass(frozen=True, slots=True, eq=False)
class CumulativeApparentVolume:
    """Cumulative apparent volume in time order; arrays of shape ``(n,)``."""

    time_s: FloatArray  #: event times, sorted
    apparent_volume_m3: FloatArray  #: V_A per event, in the same order
    cumulative_m3: FloatArray  #: running sum of V_A
    algorithm_version: str = MINE_SOURCE_ALGORITHM_VERSION


# ----------------------------------------------------------------------------- validation


def _positive(value: float, name: str) -> float:
    x = float(value)
    if not (math.isfinite(x) and x > 0.0):
        raise ValueError(f"{name} must be finite and > 0, got {value}")
    return x


def _phase(value: Phase | str) -> Phase:
    try:
        return Phase(value)
    except ValueError:
        raise ValueError(f"phase must be one of {[p.value for p in Phase]}, got {value!r}") from None


def _velocity(velocity: npt.ArrayLike) -> FloatArray:
    v = np.asarray(velocity, dtype=np.float64)
    if v.ndim == 1:
        v = v[:, None]
    if v.ndim != 2 or not 1 <= v.shape[1] <= _MAX_COMPONENTS:
        raise ValueError(f"velocity must have shape (n_samples,) or (n_samples, 1..3), got {np.shape(velocity)}")
    if v.shape[0] < _MIN_SAMPLES:
        raise ValueError(f"velocity needs at least {_MIN_SAMPLES} samples, got {v.shape[0]}")
    if not np.isfinite(v).all():
        raise ValueError("velocity must be finite (no NaN or inf)")
    return v


def _positive_array(values: npt.ArrayLike, name: str) -> FloatArray:
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {x.shape}")
    if not (np.isfinite(x).all() and (x > 0.0).all()):
        raise ValueError(f"{name} must be finite and > 0")
    return x


def _same_length(**arrays: FloatArray) -> None:
    sizes = {k: a.size for k, a in arrays.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"arrays must have the same length, got {sizes}")


# ----------------------------------------------------------------------------- one station


def moment_magnitude(moment_nm: float) -> float:
    """Moment magnitude of [HK79]_, ``(2/3) log10 M0 - 6.033`` (M0 in N m)."""
    return 2.0 / 3.0 * math.log10(_positive(moment_nm, "moment_nm")) - _MW_OFFSET_NM


def _brune_log10(f: FloatArray, log_omega0: float, log_fc: float) -> FloatArray:
    return log_omega0 - np.log10(1.0 + (f / 10.0**log_fc) ** 2)


def _g(x: float) -> float:
    """Antiderivative of x^2 / (1 + x^2)^2 (eq. 4); G(inf) = pi / 4."""
    if math.isinf(x):
        return math.pi / 4.0
    return 0.5 * (math.atan(x) - x / (1.0 + x * x))


def _model_j(omega0: float, fc: float, a_hz: float, b_hz: float) -> float:
    """Eq. (4): 2 int_a^b |V_model(f)|^2 df."""
    return 8.0 * math.pi**2 * omega0**2 * fc**3 * (_g(b_hz / fc) - _g(a_hz / fc))


def source_parameters(
    velocity: npt.ArrayLike,
    fs_hz: float,
    *,
    distance_m: float,
    phase: Phase | str,
    velocity_mps: float,
    density_kgpm3: float = 2700.0,
    radiation: float | None = None,
    free_surface: float = 1.0,
    q: float | None = None,
    band_hz: tuple[float, float] | None = None,
    taper: float = 0.1,
    shear_velocity_mps: float | None = None,
) -> StationSource:
    """Moment, corner frequency, energy and apparent stress from one station.

    Parameters
    ----------
    velocity : array_like, shape (n_samples,) or (n_samples, n_components)
        Ground velocity in m/s (instrument response removed), a window around
        one phase; up to 3 components, combined as the vector modulus.
    fs_hz : float
        Sampling rate.
    distance_m : float
        Hypocentral distance ``R``.
    phase : {"P", "S"}
    velocity_mps : float
        Wave speed of the phase at the source (``alpha`` for P, ``beta`` for S).
    density_kgpm3 : float
        Density at the source.
    radiation : float, optional
        Radiation coefficient ``Rc`` in (0, 1]; default the rms average of
        the phase, 0.52 (P) or 0.63 (S) [BB84]_.
    free_surface : float
        Free-surface amplification ``Fs`` in [1, 2]; 1 in the rock mass.
    q : float, optional
        Quality factor of the phase; when given, ``exp(pi f R / (Q v))`` is
        applied to the spectrum.
    band_hz : (float, float), optional
        ``(f_lo, f_hi)`` with ``0 < f_lo < f_hi <= fs / 2``; default
        ``(2 / T, 0.4 fs)``.  Must hold at least 4 logarithmic bins (0.4 decade).
    taper : float
        Tukey taper fraction in [0, 1] (total, both ends).
    shear_velocity_mps : float, optional
        ``beta`` for ``mu = rho beta^2``; default ``velocity_mps`` for S and
        ``velocity_mps / sqrt(3)`` for P.

    Returns
    -------
    StationSource
    """
    ph = _phase(phase)
    v = _velocity(velocity)
    fs = _positive(fs_hz, "fs_hz")
    r = _positive(distance_m, "distance_m")
    c = _positive(velocity_mps, "velocity_mps")
    rho = _positive(density_kgpm3, "density_kgpm3")
    rc = RADIATION_RMS[ph] if radiation is None else _positive(radiation, "radiation")
    if rc > 1.0:
        raise ValueError(f"radiation must be within (0, 1], got {radiation}")
    f_s = float(free_surface)
    if not (math.isfinite(f_s) and 1.0 <= f_s <= 2.0):
        raise ValueError(f"free_surface must be within [1, 2], got {free_surface}")
    qq = None if q is None else _positive(q, "q")
    tp = float(taper)
    if not (math.isfinite(tp) and 0.0 <= tp <= 1.0):
        raise ValueError(f"taper must be within [0, 1], got {taper}")
    if shear_velocity_mps is None:
        beta = c if ph is Phase.S else c / math.sqrt(3.0)
    else:
        beta = _positive(shear_velocity_mps, "shear_velocity_mps")
    n = v.shape[0]
    nyquist = 0.5 * fs
    if band_hz is None:
        f_lo, f_hi = 2.0 * fs / n, 0.4 * fs
    else:
        f_lo, f_hi = (float(x) for x in band_hz)
        if not (math.isfinite(f_lo) and math.isfinite(f_hi) and 0.0 < f_lo < f_hi <= nyquist):
            raise ValueError(f"band_hz must satisfy 0 < f_lo < f_hi <= fs/2 = {nyquist}, got {band_hz}")
    if math.log10(f_hi / f_lo) * _BINS_PER_DECADE < _MIN_FIT_BINS:
        raise ValueError(
            f"band_hz must span at least {_MIN_FIT_BINS / _BINS_PER_DECADE} decade, got ({f_lo}, {f_hi}) Hz"
        )

    # spectrum of the vector velocity (continuous-transform scaling, m)
    x = (v - v.mean(axis=0)) * windows.tukey(n, tp)[:, None]
    nfft = 1 << math.ceil(math.log2(2 * n))
    spec = np.fft.rfft(x, nfft, axis=0) / fs
    power_v = np.sum(spec.real**2 + spec.imag**2, axis=1)  # |V(f)|^2
    freq = np.fft.rfftfreq(nfft, 1.0 / fs)
    if qq is not None:
        power_v = power_v * np.exp(2.0 * math.pi * freq * r / (qq * c))
    df = fs / nfft
    in_band = (freq >= f_lo) & (freq <= f_hi)
    fb = freq[in_band]
    pv = power_v[in_band]
    pu = pv / (2.0 * math.pi * fb) ** 2  # |U(f)|^2

    # log-binned power average, then least squares on log10 |U| (eq. 1)
    n_bins = max(_MIN_FIT_BINS, math.ceil(math.log10(f_hi / f_lo) * _BINS_PER_DECADE))
    edges = np.logspace(math.log10(f_lo), math.log10(f_hi), n_bins + 1)
    idx = np.clip(np.searchsorted(edges, fb, side="right") - 1, 0, n_bins - 1)
    counts = np.bincount(idx, minlength=n_bins)
    keep = counts > 0
    mean_pu = np.bincount(idx, weights=pu, minlength=n_bins)[keep] / counts[keep]
    mean_logf = np.bincount(idx, weights=np.log10(fb), minlength=n_bins)[keep] / counts[keep]
    if int(keep.sum()) < _MIN_FIT_BINS or not (mean_pu > 0.0).all():
        raise ValueError(
            f"band_hz ({f_lo}, {f_hi}) Hz holds fewer than {_MIN_FIT_BINS} usable frequency bins; "
            "lengthen the window or widen the band"
        )
    f_fit = 10.0**mean_logf
    y = 0.5 * np.log10(mean_pu)

    k_band = 2.0 * float(pu.sum()) * df
    j_band = 2.0 * float(pv.sum()) * df
    fc_lo, fc_hi = 0.5 * f_lo, 2.0 * f_hi
    fc0 = min(max(math.sqrt(j_band / k_band) / (2.0 * math.pi), fc_lo * 1.01), fc_hi * 0.99)
    om0 = math.sqrt(2.0 * k_band / (math.pi * fc0))
    res = optimize.least_squares(
        lambda p: _brune_log10(f_fit, p[0], p[1]) - y,
        x0=[math.log10(om0), math.log10(fc0)],
        bounds=([-np.inf, math.log10(fc_lo)], [np.inf, math.log10(fc_hi)]),
        method="trf",
    )
    omega0 = 10.0 ** float(res.x[0])
    fc = 10.0 ** float(res.x[1])
    fit_rms = float(np.sqrt(np.mean(res.fun**2)))

    # eq. (2), eq. (3) with the band-limited J extrapolated by eq. (4)
    moment = 4.0 * math.pi * rho * c**3 * r * omega0 / (rc * f_s)
    j_total = j_band + _model_j(omega0, fc, 0.0, f_lo) + _model_j(omega0, fc, f_hi, math.inf)
    energy = 4.0 * math.pi * rho * c * r**2 * (_RADIATION_MEAN_SQUARE[ph] / rc**2) * j_total / f_s**2
    mu = rho * beta**2
    return StationSource(
        phase=ph,
        moment_nm=moment,
        corner_frequency_hz=fc,
        omega0_ms=omega0,
        energy_j=energy,
        energy_band_fraction=j_band / j_total,
        moment_magnitude=moment_magnitude(moment),
        apparent_stress_pa=mu * energy / moment,
        shear_modulus_pa=mu,
        band_hz=(f_lo, f_hi),
        fit_rms_log10=fit_rms,
        n_fit_bins=int(keep.sum()),
        distance_m=r,
    )


# ----------------------------------------------------------------------------- several stations


def _log_mean_std(x: FloatArray) -> tuple[float, float]:
    lg = np.log10(x)
    return float(10.0 ** lg.mean()), float(lg.std(ddof=1)) if lg.size > 1 else 0.0


def combine(stations: Sequence[StationSource], *, shear_modulus_pa: float | None = None) -> EventSource:
    """Combine station estimates of one event (module docstring, :func:`combine`).

    Parameters
    ----------
    stations : sequence of StationSource
        At least one; P and S estimates may be mixed.
    shear_modulus_pa : float, optional
        ``mu`` for the apparent stress; default the mean of the stations' values.

    Returns
    -------
    EventSource
    """
    st = list(stations)
    if not st:
        raise ValueError("stations must hold at least 1 StationSource, got 0")
    if not all(isinstance(s, StationSource) for s in st):
        raise ValueError("stations must be StationSource instances")
    mu = (
        float(np.mean([s.shear_modulus_pa for s in st]))
        if shear_modulus_pa is None
        else _positive(shear_modulus_pa, "shear_modulus_pa")
    )
    m0, m0_std = _log_mean_std(np.array([s.moment_nm for s in st]))
    energy: dict[Phase, float] = {}
    corner: dict[Phase, float] = {}
    sq_dev, dof = 0.0, 0
    for ph in Phase:
        sel = [s for s in st if s.phase is ph]
        if not sel:
            continue
        e_log = np.log10([s.energy_j for s in sel])
        energy[ph] = float(10.0 ** e_log.mean())
        sq_dev += float(((e_log - e_log.mean()) ** 2).sum())
        dof += len(sel) - 1
        corner[ph] = _log_mean_std(np.array([s.corner_frequency_hz for s in sel]))[0]
    e_total = float(sum(energy.values()))
    return EventSource(
        moment_nm=m0,
        moment_log10_std=m0_std,
        moment_magnitude=moment_magnitude(m0),
        energy_j=e_total,
        energy_p_j=energy.get(Phase.P, math.nan),
        energy_s_j=energy.get(Phase.S, math.nan),
        energy_log10_std=math.sqrt(sq_dev / dof) if dof > 0 else 0.0,
        corner_frequency_p_hz=corner.get(Phase.P, math.nan),
        corner_frequency_s_hz=corner.get(Phase.S, math.nan),
        apparent_stress_pa=mu * e_total / m0,
        shear_modulus_pa=mu,
        phases=tuple(energy),
        n_stations=len(st),
    )


# ----------------------------------------------------------------------------- catalogue indicators


def fit_energy_moment(energy_j: npt.ArrayLike, moment_nm: npt.ArrayLike) -> EnergyMomentFit:
    """Fit ``log10 E = c + d log10 M0`` to a catalogue by ordinary least squares.

    Parameters
    ----------
    energy_j, moment_nm : array_like, shape (n,)
        Positive and finite, ``n >= 3``, not all moments equal.

    Returns
    -------
    EnergyMomentFit
    """
    e = _positive_array(energy_j, "energy_j")
    m = _positive_array(moment_nm, "moment_nm")
    _same_length(energy_j=e, moment_nm=m)
    if e.size < 3:
        raise ValueError(f"energy_j needs at least 3 events, got {e.size}")
    x, y = np.log10(m), np.log10(e)
    xc = x - x.mean()
    sxx = float(xc @ xc)
    if sxx <= 1e-12 * e.size:
        raise ValueError("moment_nm must not be (nearly) constant: the slope d is undetermined")
    d = float(xc @ (y - y.mean())) / sxx
    c = float(y.mean() - d * x.mean())
    resid = y - (c + d * x)
    return EnergyMomentFit(c=c, d=d, residual_std_log10=float(math.sqrt(resid @ resid / (e.size - 2))), n=int(e.size))


def energy_index(energy_j: npt.ArrayLike, moment_nm: npt.ArrayLike, *, c: float, d: float) -> FloatArray:
    """Energy index ``EI = E / 10^(c + d log10 M0)``, shape ``(n,)`` [vAB93]_ [Me97]_."""
    e = _positive_array(energy_j, "energy_j")
    m = _positive_array(moment_nm, "moment_nm")
    _same_length(energy_j=e, moment_nm=m)
    cc, dd = float(c), float(d)
    if not (math.isfinite(cc) and math.isfinite(dd)):
        raise ValueError(f"c and d must be finite, got c={c}, d={d}")
    out: FloatArray = 10.0 ** (np.log10(e) - (cc + dd * np.log10(m)))
    return out


def apparent_volume(moment_nm: npt.ArrayLike, energy_j: npt.ArrayLike, mu_pa: float) -> FloatArray:
    """Apparent volume ``V_A = M0^2 / (2 mu E)`` in m^3, shape ``(n,)`` [Me97]_."""
    m = _positive_array(np.atleast_1d(np.asarray(moment_nm, dtype=np.float64)), "moment_nm")
    e = _positive_array(np.atleast_1d(np.asarray(energy_j, dtype=np.float64)), "energy_j")
    _same_length(moment_nm=m, energy_j=e)
    mu = _positive(mu_pa, "mu_pa")
    out: FloatArray = m * m / (2.0 * mu * e)
    return out


def cumulative_apparent_volume(
    time_s: npt.ArrayLike, moment_nm: npt.ArrayLike, energy_j: npt.ArrayLike, mu_pa: float
) -> CumulativeApparentVolume:
    """Running sum of the apparent volume in time order (stable sort by ``time_s``)."""
    t = np.asarray(time_s, dtype=np.float64)
    if t.ndim != 1 or not np.isfinite(t).all():
        raise ValueError(f"time_s must be one-dimensional and finite, got shape {t.shape}")
    va = apparent_volume(moment_nm, energy_j, mu_pa)
    _same_length(time_s=t, moment_nm=va)
    order = np.argsort(t, kind="stable")
    return CumulativeApparentVolume(time_s=t[order], apparent_volume_m3=va[order], cumulative_m3=np.cumsum(va[order]))
