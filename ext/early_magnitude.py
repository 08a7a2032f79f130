"""Early-warning magnitudes from the first seconds of P (Pd, tau_c) and the local magnitude ML.

Issue "[8] Regional association, rapid parameters and earthquake early
warning", magnitude part.  Arrays in, frozen dataclasses out; numpy and scipy
only; float64; inputs never modified; invalid input raises :class:`ValueError`
naming the argument and the limit.  Every magnitude carries its type
(``"Mpd"``, ``"Mtc"``, ``"ML"``) and the relation it came from.

P-wave parameters [Ka05]_ [WK05]_ [Wu+07]_
    Vertical acceleration (m/s^2) -> remove the mean of the samples before
    the P onset (none if the onset is the first sample) -> velocity by the
    cumulative trapezoidal rule -> causal Butterworth high-pass at
    ``highpass_hz`` = 0.075 Hz, order 2 ("two poles gives the best
    magnitudes", [SWA08]_), one forward pass from the first sample, zero
    initial state -> displacement by the trapezoidal rule -> the same
    high-pass again.  Over the window ``[t_P, t_P + tau_0]``:

    * ``Pd`` = peak absolute displacement (m);
    * ``tau_c = 2 pi / sqrt(r)``, ``r = int v^2 dt / int u^2 dt`` with ``u``
      the displacement and ``v`` the (high-passed) velocity [Ka05]_.

    ``tau_0 = window_s`` (default 3 s).  When fewer samples follow the onset
    the window is shortened to what is available (at least
    ``min_window_s``, default 0.5 s) and :attr:`PWaveParameters.window_s`
    says how long it was; Pd grows with the window for M > ~5, so a short
    window biases Mpd low for large events (stated, not corrected).
Magnitudes from the relations (coefficients as data, ``data/eew_magnitude_relations.csv``)
    ``pd`` form: ``log10 Pd[cm] = a + b M + c log10 R[km]`` -> ``M = (log10
    Pd - a - c log10 R) / b`` (Mpd, [WZ06]_; ``R`` hypocentral distance).
    ``tau_c`` form: ``log10 tau_c = a + b M`` -> ``M = (log10 tau_c - a) / b``
    (Mtc, [WK08]_, flagged *unverified* in the data file).  The per-station
    magnitude sigma is ``sigma / b``.
Network magnitude
    :func:`network_magnitude`: NaNs are dropped; values farther than
    ``2.5 max(1.4826 MAD, 0.1)`` from the median are rejected; the magnitude
    is the mean of the rest, ``std`` their sample standard deviation
    (ddof = 1; the relation's per-station sigma when one value is left) and
    ``std_error = std / sqrt(n)``.
Local magnitude ML (fallback calibration, stated)
    GB 17740-2017 section 4.1 defines ML from the peak S (or Lg) amplitudes
    ``A_N``, ``A_E`` (micrometres) of the two horizontal components simulated
    as a DD-1 short-period seismograph, with the calibration function
    ``R(Delta)`` of its Annex A and the DD-1 parameters of its Annex B.1.3.
    Neither table could be obtained from a citable source here, so ML is
    computed with the IASPEI standard [IA13]_: Wood-Anderson simulation of
    unit static magnification (poles ``-6.283 +- 4.7124 i`` rad/s, i.e.
    ``T0 = 0.8 s``, ``h = 0.8``; the PAZ of ObsPy's ``obspy.signal.invsim.WOODANDERSON``)
    and the Hutton & Boore (1987) calibration [HB87]_ in IASPEI form::

        ML = log10(A[nm]) + 1.11 log10(R[km]) + 0.00189 R - 2.09

    with ``A`` the mean of the two horizontal peak amplitudes (the GB 17740
    practice of using both horizontals) and ``R`` the hypocentral distance
    (10-1000 km).  :attr:`LocalMagnitude.calibration` is
    ``"HuttonBoore1987-IASPEI"``; replace it by the GB 17740 table when
    available.  The simulation is the analogue response discretised by the
    bilinear transform (scipy ``cont2discrete``), applied to the acceleration
    after removing its pre-event mean.

References
----------
.. [Ka05] Kanamori, H. (2005). Real-time seismology and earthquake damage
   mitigation. Annu. Rev. Earth Planet. Sci. 33, 195-214.
.. [WK05] Wu, Y.-M. & Kanamori, H. (2005). Experiment on an onsite early
   warning method for the Taiwan early warning system. BSSA 95(1), 347-353.
.. [Wu+07] Wu, Y.-M., Kanamori, H., Allen, R.M. & Hauksson, E. (2007).
   Determination of earthquake early warning parameters, tau_c and Pd, for
   southern California. Geophys. J. Int. 170, 711-717 (0.075 Hz one-way
   Butterworth high-pass on displacement; first 3 s of P).
.. [WZ06] Wu, Y.-M. & Zhao, L. (2006). Magnitude estimation using the first
   three seconds P-wave amplitude in earthquake early warning. GRL 33, L16312.
.. [WK08] Wu, Y.-M. & Kanamori, H. (2008). Development of an earthquake early
   warning system using real-time strong motion signals. Sensors 8(1), 1-9.
.. [SWA08] Shieh, J.-T., Wu, Y.-M. & Allen, R.M. (2008). A comparison of tau_c
   and tau_p^max for magnitude estimation in earthquake early warning. GRL 35, L20301.
.. [HB87] Hutton, L.K. & Boore, D.M. (1987). The ML scale in southern
   California. BSSA 77(6), 2074-2094.
.. [IA13] IASPEI (2013). Summary of magnitude working group recommendations on
   standard procedures for determining earthquake magnitudes from digital data
   (ML: equation (1), amplitude in nm on a Wood-Anderson of magnification 1).
"""

from __future__ import annotations

import csv
import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy import signal

__all__ = [
    "EARLY_MAGNITUDE_ALGORITHM_VERSION",
    "EARLY_RELATIONS",
    "WOOD_ANDERSON_POLES",
    "EarlyRelation",
    "LocalMagnitude",
    "NetworkMagnitude",
    "PWaveParameters",
    "local_magnitude",
    "magnitude_from_pd",
    "magnitude_from_tau_c",
    "network_magnitude",
    "p_wave_parameters",
    "pd_relation",
    "wood_anderson",
]

FloatArray = npt.NDArray[np.float64]

#: Bump when a definition in the module docstring changes (goes into provenance).
EARLY_MAGNITUDE_ALGORITHM_VERSION: Final = "1"
#: Wood-Anderson poles (rad/s), as ObsPy ``obspy.signal.invsim.WOODANDERSON`` [IA13]_.
WOOD_ANDERSON_POLES: Final = (complex(-6.283, 4.7124), complex(-6.283, -4.7124))
_MAD_TO_SIGMA: Final = 1.4826
_REJECT_K: Final = 2.5
_MIN_SPREAD: Final = 0.1
_ML_RANGE_KM: Final = (10.0, 1000.0)


@dataclass(frozen=True, slots=True)
class EarlyRelation:
    """One row of ``data/eew_magnitude_relations.csv`` (module docstring)."""

    name: str
    form: str
    magnitude_type: str
    a: float
    b: float
    c: float
    sigma: float
    window_s: float
    highpass_hz: float
    verified: str
    source: str

    @property
    def magnitude_sigma(self) -> float:
        """Per-station magnitude scatter ``sigma / b``."""
        return self.sigma / self.b


@functools.lru_cache(maxsize=None)
def _load() -> Mapping[str, EarlyRelation]:
    text = resources.files("quakewatch.ext").joinpath("data", "eew_magnitude_relations.csv").read_text(encoding="utf-8")
    out: dict[str, EarlyRelation] = {}
    for row in csv.DictReader(ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")):
        nums = {k: float(row[k]) for k in ("a", "b", "c", "sigma", "window_s", "highpass_hz")}
        rel = EarlyRelation(name=row["name"], form=row["form"], magnitude_type=row["magnitude_type"],
                            verified=row["verified"], source=row["source"], **nums)
        if rel.form not in ("pd", "tau_c") or not (rel.b > 0.0 and rel.sigma > 0.0):
            raise ValueError(f"data/eew_magnitude_relations.csv: {rel.name}: form must be pd or tau_c, b > 0, sigma > 0")
        out[rel.name] = rel
    return MappingProxyType(out)


#: Early-warning magnitude relations by name.
EARLY_RELATIONS: Final[Mapping[str, EarlyRelation]] = _load()


@dataclass(frozen=True, slots=True)
class PWaveParameters:
    """Pd (m), tau_c (s) and the window actually used (s, samples)."""

    pd_m: float
    tau_c_s: float
    window_s: float
    n_samples: int
    full_window: bool


@dataclass(frozen=True, slots=True)
class NetworkMagnitude:
    """Robust network average (module docstring)."""

    value: float
    std: float
    std_error: float
    n_stations: int
    n_used: int
    magnitude_type: str
    relation: str


@dataclass(frozen=True, slots=True)
class LocalMagnitude:
    """Single-station ML with its amplitude (nm, mean of the two horizontals) and calibration."""

    value: float
    amplitude_nm: float
    hypocentral_km: float
    magnitude_type: str = "ML"
    calibration: str = "HuttonBoore1987-IASPEI"


def _trace(name: str, x: npt.ArrayLike) -> FloatArray:
    a = np.array(x, dtype=np.float64)  # a copy
    if a.ndim != 1 or a.size < 2:
        raise ValueError(f"{name} must be 1-D with at least 2 samples, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite (no NaN or Inf)")
    return a


def _pos(name: str, v: float) -> float:
    f = float(v)
    if not (math.isfinite(f) and f > 0.0):
        raise ValueError(f"{name} must be finite and > 0, got {v!r}")
    return f


def _integrate(x: FloatArray, dt: float) -> FloatArray:
    out = np.empty_like(x)
    out[0] = 0.0
    np.cumsum(0.5 * (x[1:] + x[:-1]) * dt, out=out[1:])
    return out


def p_wave_parameters(
    acc_z_mps2: npt.ArrayLike,
    fs_hz: float,
    p_index: int,
    *,
    window_s: float = 3.0,
    min_window_s: float = 0.5,
    highpass_hz: float = 0.075,
    order: int = 2,
) -> PWaveParameters:
    """Pd and tau_c of the first ``window_s`` seconds of P (module docstring).

    Parameters
    ----------
    acc_z_mps2 : array_like (n,)
        Vertical acceleration, m/s^2, from before the P onset on.
    fs_hz : float
        Sampling rate, Hz (> 4 * highpass_hz).
    p_index : int
        Sample of the P onset, in ``[0, n - 1)``.
    window_s, min_window_s : float
        Nominal and shortest accepted window, s.
    highpass_hz : float
        Corner of the causal Butterworth high-pass, Hz.
    order : int
        Filter order (1-8).
    """
    a = _trace("acc_z_mps2", acc_z_mps2)
    fs = _pos("fs_hz", fs_hz)
    win = _pos("window_s", window_s)
    min_win = _pos("min_window_s", min_window_s)
    hp = _pos("highpass_hz", highpass_hz)
    if not hp < 0.25 * fs:
        raise ValueError(f"highpass_hz must be < fs_hz / 4 = {0.25 * fs:g}, got {hp}")
    if isinstance(order, bool) or not isinstance(order, int) or not 1 <= order <= 8:
        raise ValueError(f"order must be an integer within [1, 8], got {order!r}")
    if isinstance(p_index, bool) or not isinstance(p_index, (int, np.integer)) or not 0 <= int(p_index) < a.size - 1:
        raise ValueError(f"p_index must be an integer within [0, {a.size - 1}), got {p_index!r}")
    i0 = int(p_index)
    n_avail = a.size - i0
    n_win = min(int(round(win * fs)), n_avail)
    if n_win < max(2, int(round(min_win * fs))):
        raise ValueError(f"only {n_avail / fs:.3f} s follow the P onset; min_window_s = {min_win:g} s")
    if i0 > 0:
        a -= a[:i0].mean()
    sos = signal.butter(order, hp, btype="highpass", fs=fs, output="sos")
    dt = 1.0 / fs
    vel = signal.sosfilt(sos, _integrate(a, dt))
    disp = signal.sosfilt(sos, _integrate(vel, dt))
    u = disp[i0:i0 + n_win]
    v = vel[i0:i0 + n_win]
    uu = float(np.sum(u * u))
    vv = float(np.sum(v * v))
    tau_c = 2.0 * math.pi * math.sqrt(uu / vv) if vv > 0.0 else math.nan
    return PWaveParameters(float(np.max(np.abs(u))), tau_c, n_win / fs, n_win, n_win >= int(round(win * fs)))


def _relation(name: str | EarlyRelation, form: str) -> EarlyRelation:
    rel = name if isinstance(name, EarlyRelation) else EARLY_RELATIONS.get(name)
    if rel is None or rel.form != form:
        names = sorted(k for k, r in EARLY_RELATIONS.items() if r.form == form)
        raise ValueError(f"relation must be one of {names} or a {form} EarlyRelation, got {name!r}")
    return rel


def pd_relation(name: str, a: float, b: float, c: float, sigma: float, source: str, *, magnitude_type: str = "Mpd",
                window_s: float = 3.0, highpass_hz: float = 0.075) -> EarlyRelation:
    """A regional Pd relation ``log10(Pd_cm) = a + b M + c log10(R_km)`` with scatter
    ``sigma`` (log10 units), calibrated on a region's records; ``source`` cites the
    calibration (required)."""
    for label, v in (("a", a), ("b", b), ("c", c), ("sigma", sigma), ("window_s", window_s), ("highpass_hz", highpass_hz)):
        if not math.isfinite(v):
            raise ValueError(f"{label} must be finite, got {v}")
    if not (b > 0 and sigma > 0 and window_s > 0 and highpass_hz > 0):
        raise ValueError(f"b, sigma, window_s and highpass_hz must be > 0, got {b}, {sigma}, {window_s}, {highpass_hz}")
    if not name or not source.strip():
        raise ValueError("a relation needs a name and its source (who calibrated it on which records)")
    return EarlyRelation(name=name, form="pd", magnitude_type=magnitude_type, a=float(a), b=float(b), c=float(c),
                         sigma=float(sigma), window_s=float(window_s), highpass_hz=float(highpass_hz), verified="regional",
                         source=source.strip())


def magnitude_from_pd(pd_m: npt.ArrayLike, hypocentral_km: npt.ArrayLike,
                      relation: str | EarlyRelation = "WuZhao2006") -> FloatArray:
    """Mpd per station (NaN where ``Pd <= 0`` or not finite); broadcast. ``relation``: a
    shipped relation's name or an :class:`EarlyRelation` (:func:`pd_relation`)."""
    rel = _relation(relation, "pd")
    pd = np.asarray(pd_m, dtype=np.float64)
    r = np.asarray(hypocentral_km, dtype=np.float64)
    if np.any(~(r > 0.0) & np.isfinite(r)):
        raise ValueError("hypocentral_km must be > 0")
    with np.errstate(divide="ignore", invalid="ignore"):
        m = (np.log10(pd * 100.0) - rel.a - rel.c * np.log10(r)) / rel.b
    out: FloatArray = np.where(np.isfinite(m), m, np.nan)
    return out


def magnitude_from_tau_c(tau_c_s: npt.ArrayLike, relation: str = "WuKanamori2008") -> FloatArray:
    """Mtc per station (NaN where ``tau_c <= 0`` or not finite)."""
    rel = _relation(relation, "tau_c")
    t = np.asarray(tau_c_s, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        m = (np.log10(t) - rel.a) / rel.b
    out: FloatArray = np.where(np.isfinite(m), m, np.nan)
    return out


def network_magnitude(station_magnitudes: npt.ArrayLike, relation: str | EarlyRelation) -> NetworkMagnitude:
    """Robust average of station magnitudes of one relation (module docstring)."""
    if isinstance(relation, EarlyRelation):
        rel = relation
    elif relation in EARLY_RELATIONS:
        rel = EARLY_RELATIONS[relation]
    else:
        raise ValueError(f"relation must be one of {sorted(EARLY_RELATIONS)} or an EarlyRelation, got {relation!r}")
    m = np.asarray(station_magnitudes, dtype=np.float64).ravel()
    n_all = int(m.size)
    m = m[np.isfinite(m)]
    if m.size == 0:
        return NetworkMagnitude(math.nan, math.nan, math.nan, n_all, 0, rel.magnitude_type, rel.name)
    med = float(np.median(m))
    spread = max(_MAD_TO_SIGMA * float(np.median(np.abs(m - med))), _MIN_SPREAD)
    kept = m[np.abs(m - med) <= _REJECT_K * spread]
    std = float(np.std(kept, ddof=1)) if kept.size > 1 else rel.magnitude_sigma
    return NetworkMagnitude(float(np.mean(kept)), std, std / math.sqrt(kept.size), n_all, int(kept.size),
                            rel.magnitude_type, rel.name)


@functools.lru_cache(maxsize=16)
def _wa_sos(fs_hz: float) -> FloatArray:
    p1, p2 = WOOD_ANDERSON_POLES
    den = np.real(np.poly([p1, p2]))
    b, a, _ = signal.cont2discrete((np.array([1.0]), den), 1.0 / fs_hz, method="bilinear")
    out: FloatArray = signal.tf2sos(np.ravel(b), a)
    return out


def wood_anderson(acc_mps2: npt.ArrayLike, fs_hz: float, *, pre_event_s: float | None = None) -> FloatArray:
    """Wood-Anderson trace (m, static magnification 1) of an acceleration record (m/s^2).

    The pre-event mean (``pre_event_s`` seconds; whole record when None) is
    removed first; the filter starts at rest.
    """
    a = _trace("acc_mps2", acc_mps2)
    fs = _pos("fs_hz", fs_hz)
    if fs < 10.0:
        raise ValueError(f"fs_hz must be >= 10 Hz for the Wood-Anderson simulation, got {fs}")
    if pre_event_s is None:
        a -= a.mean()
    else:
        n_pre = int(round(_pos("pre_event_s", pre_event_s) * fs))
        if n_pre >= 1:
            a -= a[:n_pre].mean()
    out: FloatArray = signal.sosfilt(_wa_sos(fs), a)
    return out


def local_magnitude(
    acc_n_mps2: npt.ArrayLike,
    acc_e_mps2: npt.ArrayLike,
    fs_hz: float,
    hypocentral_km: float,
    *,
    pre_event_s: float | None = None,
) -> LocalMagnitude:
    """Single-station ML (module docstring: IASPEI / Hutton & Boore 1987 fallback)."""
    r = float(hypocentral_km)
    if not (math.isfinite(r) and _ML_RANGE_KM[0] <= r <= _ML_RANGE_KM[1]):
        raise ValueError(f"hypocentral_km must be within [{_ML_RANGE_KM[0]:g}, {_ML_RANGE_KM[1]:g}] km, got {hypocentral_km!r}")
    wn = wood_anderson(acc_n_mps2, fs_hz, pre_event_s=pre_event_s)
    we = wood_anderson(acc_e_mps2, fs_hz, pre_event_s=pre_event_s)
    amp_nm = 0.5 * (float(np.max(np.abs(wn))) + float(np.max(np.abs(we)))) * 1e9
    if not amp_nm > 0.0:
        return LocalMagnitude(math.nan, amp_nm, r)
    ml = math.log10(amp_nm) + 1.11 * math.log10(r) + 0.00189 * r - 2.09
    return LocalMagnitude(ml, amp_nm, r)
