"""Strong-motion metrics: response spectra, peaks, Arias, CAV, durations, intensity.

Every function takes acceleration in m/s^2 sampled uniformly (``dt_s`` or
``fs_hz``) and returns SI results in frozen dataclasses or plain floats.  Input
arrays are never modified; float32 and float64 are used as they are, other real
dtypes are converted to float64; all arithmetic is float64.  NaN or Inf in an
input raises :class:`ValueError` naming the argument; every record needs at
least 2 samples (one sampling interval).

Definitions
-----------
Response spectrum [NJ69]
    Peak relative displacement ``Sd`` and peak absolute acceleration ``Sa`` of
    a damped SDOF oscillator starting at rest, by the exact recurrence for
    piecewise-linear excitation (``ext/_motion.pyx``).  The recurrence has no
    time-step error, so it stays exact when ``T`` is at or below ``dt``
    (0.01 s at 100 Hz).  ``PSV = w Sd``, ``PSA = w^2 Sd`` with ``w = 2 pi / T``.
    As ``T -> 0`` the oscillator follows the ground, ``Sa -> max|a|`` (PGA).
Processing chain (:func:`peak_motion`, :func:`channel_metrics`)
    1. Remove the mean of the first ``pre_event_s`` seconds (the whole record
       when ``None``).
    2. Butterworth filter of order 4 (``scipy.signal.butter(4, ...)``; for a
       band-pass, 4 poles at each corner), applied forward then backward
       without padding: zero phase, squared magnitude, i.e. the same as ObsPy
       ``Trace.filter(..., corners=4, zerophase=True)``.  Default
       ``band_hz = (0.1, None)``: high-pass at 0.1 Hz, no low-pass (an
       accelerograph's anti-alias filter already bounds the band).
    3. Velocity and displacement by the cumulative trapezoidal rule from zero
       initial values (``v[0] = 0``, ``d[0] = 0``).
    PGA, PGV, PGD are the peak absolute values of the processed acceleration,
    velocity and displacement; Arias, CAV, durations and the spectrum of
    :func:`channel_metrics` are computed from the processed acceleration.
Arias intensity [REF]
    ``Ia = pi / (2 g) * integral a^2 dt`` in m/s, ``g = 9.80665 m/s^2``,
    trapezoidal rule.
CAV
    ``integral |a| dt`` in m/s, trapezoidal rule on ``|a_k|``.
Significant duration
    ``t(end) - t(start)``, with ``t(q)`` the first time the normalised
    cumulative Arias curve (trapezoidal, linear between samples) reaches ``q``.
    A record without energy has duration 0.
Fourier amplitude spectrum
    ``|rfft(a)| * dt`` (m/s) at ``rfftfreq(n, dt)``; no taper, padding or
    smoothing.
Instrumental intensity [GB20], Annex A
    Remove the mean (pre-event window or whole record), band-pass each
    component 0.1-10 Hz with a *causal* 4th-order Butterworth (one forward
    pass: the value on any prefix of a record equals what a streaming filter
    reports at that time, so batch and real-time agree), integrate to
    velocity (trapezoidal rule), take vector sums at each sample, then apply
    :func:`intensity_from_peaks`.  Requires ``fs_hz > 20``.
MMI [W12]
    :func:`mmi_worden2012`, coefficients in :data:`WORDEN2012`.

References
----------
[NJ69] Nigam & Jennings (1969), BSSA 59(2), 909-922.
[GB20] GB/T 17742-2020, The Chinese seismic intensity scale, Annex A.
[W12] Worden, Gerstenberger, Rhoades & Wald (2012), BSSA 102(1), 204-221.
[NGA14] Bozorgnia et al. (2014), NGA-West2 research project, Earthquake
    Spectra 30(3): the 21 periods of :data:`NGA_WEST2_PERIODS_S`.
[REF] /work/shared/REFERENCES.md, "Ground-motion metrics".
"""

from __future__ import annotations

import enum
import functools
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, overload

import numpy as np
import numpy.typing as npt
from scipy import signal  # filter design only; filtering is _motion.sosfilt_inplace

from quakewatch.ext import _motion

__all__ = [
    "DEFAULT_BAND_HZ",
    "G_MPS2",
    "INTENSITY_BAND_HZ",
    "MOTION_ALGORITHM_VERSION",
    "NGA_WEST2_PERIODS_S",
    "WORDEN2012",
    "GroundMotionParameter",
    "IntensityResult",
    "MotionMetrics",
    "PeakMotion",
    "ProcessingChain",
    "ResponseSpectrum",
    "StationMetrics",
    "WordenCoefficients",
    "arias_intensity",
    "cav",
    "channel_metrics",
    "fourier_amplitude_spectrum",
    "instrumental_intensity",
    "intensity_from_peaks",
    "mmi_worden2012",
    "peak_motion",
    "response_spectrum",
    "round_half_up",
    "significant_duration",
    "station_metrics",
]

#: Bump when any definition in the module docstring changes (goes into provenance).
MOTION_ALGORITHM_VERSION: Final = "1"
#: Standard gravity (m/s^2), used for Arias intensity.
G_MPS2: Final = 9.80665
#: NGA-West2 GMPE periods [NGA14] (s): the default period set of spectra and summaries.
NGA_WEST2_PERIODS_S: Final = (
    0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4,
    0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 7.5, 10.0,
)
#: Default corners (low, high) in Hz of the processing chain; None = no corner.
DEFAULT_BAND_HZ: Final[tuple[float | None, float | None]] = (0.1, None)
#: Band of GB/T 17742-2020 Annex A (Hz).
INTENSITY_BAND_HZ: Final = (0.1, 10.0)
_FILTER_ORDER: Final = 4
_MIN_SAMPLES: Final = 2
# Ties of the one-decimal rounding: values this close below x.x5 count as x.x5
# (float formulas land 1e-15 off the exact decimal; real differences are >= 1e-4).
_TIE_TOLERANCE: Final = 1e-9
_ROMAN: Final = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")
_FLOATS: Final = (np.dtype(np.float32), np.dtype(np.float64))

FloatArray = npt.NDArray[np.float64]


# ----------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True, eq=False)
class ResponseSpectrum:
    """Response spectrum of one or more components.

    Attributes
    ----------
    periods_s : ndarray of float64, shape (n_periods,)
        Oscillator periods (s).
    damping : float
        Fraction of critical damping.
    sd_m : ndarray of float64, shape (n_periods,) or (n_components, n_periods)
        Peak relative displacement (m).
    psv_mps : ndarray of float64, same shape as ``sd_m``
        Pseudo-spectral velocity ``w Sd`` (m/s).
    psa_mps2 : ndarray of float64, same shape as ``sd_m``
        Pseudo-spectral acceleration ``w^2 Sd`` (m/s^2).
    sa_mps2 : ndarray of float64, same shape as ``sd_m``
        Peak absolute acceleration ``|u'' + a|`` (m/s^2).
    """

    periods_s: FloatArray
    damping: float
    sd_m: FloatArray
    psv_mps: FloatArray
    psa_mps2: FloatArray
    sa_mps2: FloatArray


@dataclass(frozen=True, slots=True)
class ProcessingChain:
    """Provenance of a processed record (see the module docstring).

    Attributes
    ----------
    band_hz : tuple of (float or None, float or None)
        Butterworth corners (low, high) in Hz; None where there is no corner.
    filter_order : int
        Butterworth order (poles per corner).
    zero_phase : bool
        Forward-backward (True) or one causal pass (False).
    pre_event_s : float or None
        Length of the window whose mean was removed; None = whole record.
    integration : str
        Integration rule, ``"trapezoid"``.
    fs_hz : float
        Sampling rate (Hz).
    n_samples : int
        Record length (samples).
    algorithm_version : str
        :data:`MOTION_ALGORITHM_VERSION`.
    """

    band_hz: tuple[float | None, float | None]
    filter_order: int
    zero_phase: bool
    pre_event_s: float | None
    integration: str
    fs_hz: float
    n_samples: int
    algorithm_version: str = MOTION_ALGORITHM_VERSION


@dataclass(frozen=True, slots=True)
class PeakMotion:
    """Peaks of the processed record: ``pga_mps2`` (m/s^2), ``pgv_mps`` (m/s),
    ``pgd_m`` (m), and the ``processing`` that produced them."""

    pga_mps2: float
    pgv_mps: float
    pgd_m: float
    processing: ProcessingChain


@dataclass(frozen=True, slots=True, eq=False)
class MotionMetrics:
    """All metrics of one channel (definitions in the module docstring).

    Attributes
    ----------
    pga_mps2, pgv_mps, pgd_m : float
        Peak ground acceleration (m/s^2), velocity (m/s), displacement (m).
    arias_mps : float
        Arias intensity (m/s).
    cav_mps : float
        Cumulative absolute velocity (m/s).
    d5_75_s, d5_95_s : float
        Significant durations 5-75 % and 5-95 % of Arias intensity (s).
    spectrum : ResponseSpectrum
        1-D response spectrum of the processed acceleration.
    processing : ProcessingChain
        How the record was processed.
    """

    pga_mps2: float
    pgv_mps: float
    pgd_m: float
    arias_mps: float
    cav_mps: float
    d5_75_s: float
    d5_95_s: float
    spectrum: ResponseSpectrum
    processing: ProcessingChain


@dataclass(frozen=True, slots=True)
class IntensityResult:
    """Instrumental seismic intensity [GB20].

    Attributes
    ----------
    intensity : float
        Intensity clamped to [1.0, 12.0] and rounded half-up to one decimal.
    degree : str
        Roman numeral of the degree, "I" to "XII".
    degree_number : int
        Degree n, 1 to 12, such that ``n - 0.5 <= intensity < n + 0.5``.
    pga_mps2 : float
        Peak of the vector-sum acceleration (m/s^2).
    pgv_mps : float
        Peak of the vector-sum velocity (m/s).
    i_pga, i_pgv : float
        ``3.17 log10(PGA) + 6.59`` and ``3.00 log10(PGV) + 9.77``, unrounded
        and unclamped (``-inf`` for a zero peak).
    standard : str
        The standard implemented.
    """

    intensity: float
    degree: str
    degree_number: int
    pga_mps2: float
    pgv_mps: float
    i_pga: float
    i_pgv: float
    standard: str = "GB/T 17742-2020 Annex A"


@dataclass(frozen=True, slots=True, eq=False)
class StationMetrics:
    """Metrics of a three-component station: one :class:`MotionMetrics` per
    component (``east``, ``north``, ``up``) and the station's ``intensity``."""

    east: MotionMetrics
    north: MotionMetrics
    up: MotionMetrics
    intensity: IntensityResult


class GroundMotionParameter(str, enum.Enum):
    """Input of :func:`mmi_worden2012`, named with its SI unit."""

    PGA_MPS2 = "pga_mps2"
    PGV_MPS = "pgv_mps"


@dataclass(frozen=True, slots=True)
class WordenCoefficients:
    """``MMI = c1 + c2 log10(Y)`` for ``log10(Y) <= t1``, else ``c3 + c4 log10(Y)``;
    ``Y`` in ``unit``; clipped to [1, 10]."""

    c1: float
    c2: float
    c3: float
    c4: float
    t1: float
    unit: str
    source: str


_W12_SOURCE: Final = "Worden et al. (2012) BSSA 102(1), GMICE coefficients, via REFERENCES.md"
#: [W12] coefficients per input parameter (Y in cm/s^2 for PGA, cm/s for PGV).
WORDEN2012: Final[Mapping[GroundMotionParameter, WordenCoefficients]] = MappingProxyType({
    GroundMotionParameter.PGA_MPS2: WordenCoefficients(1.78, 1.55, -1.60, 3.70, 1.57, "cm/s^2", _W12_SOURCE),
    GroundMotionParameter.PGV_MPS: WordenCoefficients(3.78, 1.47, 2.89, 3.16, 0.53, "cm/s", _W12_SOURCE),
})


# ----------------------------------------------------------------------------- validation


def _acc(acc: npt.ArrayLike, name: str, *, allow_2d: bool) -> np.ndarray:
    """``acc`` as a C-contiguous float32/float64 array, 2-D (rows = components).

    Raises unless it is real, 1-D (or 2-D when ``allow_2d``), has at least
    ``_MIN_SAMPLES`` samples and is finite.  Never copies float32/float64
    C-contiguous input.
    """
    arr = np.asarray(acc)
    if arr.dtype not in _FLOATS:
        if arr.dtype.kind not in "iuf":
            raise TypeError(f"{name} must be a real array, got dtype {arr.dtype}")
        arr = arr.astype(np.float64)
    if arr.ndim == 1:
        arr = arr[np.newaxis, :]
    elif arr.ndim != 2 or not allow_2d:
        allowed = "1-D or 2-D (n_components, n_samples)" if allow_2d else "1-D"
        raise ValueError(f"{name} must be {allowed}, got shape {arr.shape}")
    if arr.shape[1] < _MIN_SAMPLES:
        raise ValueError(f"{name} must have at least {_MIN_SAMPLES} samples, got {arr.shape[1]}")
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    arr = np.ascontiguousarray(arr)
    if not np.isfinite(arr).all():
        where = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(f"{name} contains NaN or Inf (first at sample {int(where[-1])})")
    return arr


def _positive(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    out = float(value)
    if not 0.0 < out < math.inf:
        raise ValueError(f"{name} must be finite and > 0, got {value!r}")
    return out


def _damping(value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"damping must be a real number, got {type(value).__name__}")
    out = float(value)
    if not 0.0 <= out < 1.0:
        raise ValueError(f"damping must be in [0, 1) (fraction of critical), got {value!r}")
    return out


def _periods(periods_s: npt.ArrayLike) -> FloatArray:
    arr = np.array(periods_s, dtype=np.float64, ndmin=1)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"periods_s must be a non-empty 1-D sequence, got shape {arr.shape}")
    if not (np.isfinite(arr).all() and (arr > 0).all()):
        raise ValueError("periods_s must be finite and > 0")
    arr.flags.writeable = False
    return arr


def _band(band_hz: tuple[float | None, float | None], fs_hz: float) -> tuple[float | None, float | None]:
    try:
        low, high = band_hz
    except (TypeError, ValueError):
        raise ValueError(f"band_hz must be a pair (low or None, high or None), got {band_hz!r}") from None
    nyquist = 0.5 * fs_hz
    out: list[float | None] = []
    for label, corner in (("low", low), ("high", high)):
        if corner is None:
            out.append(None)
            continue
        f = _positive(corner, f"band_hz {label} corner")
        if f >= nyquist:
            raise ValueError(f"band_hz {label} corner must be < fs_hz / 2 = {nyquist:g} Hz, got {f:g}")
        out.append(f)
    if out[0] is not None and out[1] is not None and out[0] >= out[1]:
        raise ValueError(f"band_hz low corner must be < high corner, got {band_hz!r}")
    return out[0], out[1]


def _pre_event_samples(pre_event_s: float | None, fs_hz: float, n: int) -> int:
    """Samples of the mean-removal window (n for the whole record)."""
    if pre_event_s is None:
        return n
    m = int(round(_positive(pre_event_s, "pre_event_s") * fs_hz))
    if not 1 <= m <= n:
        raise ValueError(f"pre_event_s must cover 1 to {n} samples at fs_hz={fs_hz:g}, got {pre_event_s!r}")
    return m


# ----------------------------------------------------------------------------- processing


@functools.lru_cache(maxsize=64)
def _butter(low: float | None, high: float | None, fs_hz: float) -> FloatArray | None:
    """Order-4 Butterworth second-order sections; None when there is no corner."""
    if low is not None and high is not None:
        sos = signal.butter(_FILTER_ORDER, (low, high), btype="bandpass", fs=fs_hz, output="sos")
    elif low is not None:
        sos = signal.butter(_FILTER_ORDER, low, btype="highpass", fs=fs_hz, output="sos")
    elif high is not None:
        sos = signal.butter(_FILTER_ORDER, high, btype="lowpass", fs=fs_hz, output="sos")
    else:
        return None
    out: FloatArray = np.asarray(sos, dtype=np.float64)
    return out  # cached and shared: private, never written (sosfilt needs it writeable)


def _demean(x: np.ndarray, n_pre: int) -> FloatArray:
    """float64 copy of ``x`` (n_components, n) minus each row's mean over ``[:n_pre]``."""
    out: FloatArray = x.astype(np.float64)
    out -= out[:, :n_pre].mean(axis=1, keepdims=True)
    return out


def _filter(x: FloatArray, sos: FloatArray | None, zero_phase: bool) -> FloatArray:
    """``x`` (float64, C-contiguous, owned by the caller's chain) filtered in place."""
    if sos is not None:
        _motion.sosfilt_inplace(sos, x, zero_phase)
    return x


def _process(
    x: np.ndarray, fs_hz: float, band_hz: tuple[float | None, float | None], pre_event_s: float | None
) -> tuple[FloatArray, ProcessingChain]:
    """Processed acceleration (steps 1-2 of the chain) and its provenance."""
    band = _band(band_hz, fs_hz)
    n = x.shape[1]
    a = _filter(_demean(x, _pre_event_samples(pre_event_s, fs_hz, n)), _butter(band[0], band[1], fs_hz), True)
    chain = ProcessingChain(band, _FILTER_ORDER, True, pre_event_s, "trapezoid", fs_hz, n)
    return a, chain


_ARIAS_SCALE: Final = math.pi / (2.0 * G_MPS2)


def _time_domain(a: FloatArray, dt_s: float, start: float = 0.05, end1: float = 0.75, end2: float = 0.95) -> FloatArray:
    """Kernel table ``_motion.T_*`` (n_components, 8) with Arias in m/s."""
    out = _motion.time_domain(a, dt_s, start, end1, end2)
    out[:, _motion.T_ARIAS] *= _ARIAS_SCALE
    return out


def _fraction(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    return float(value)


# ----------------------------------------------------------------------------- metrics


def response_spectrum(
    acc_mps2: npt.ArrayLike,
    dt_s: float,
    periods_s: npt.ArrayLike = NGA_WEST2_PERIODS_S,
    damping: float = 0.05,
) -> ResponseSpectrum:
    """Response spectrum by the exact piecewise-linear recurrence [NJ69].

    Parameters
    ----------
    acc_mps2 : array_like, shape (n_samples,) or (n_components, n_samples)
        Ground acceleration (m/s^2), used as given (no processing), >= 2 samples.
    dt_s : float
        Sampling interval (s), > 0.
    periods_s : array_like of float, shape (n_periods,), optional
        Oscillator periods (s), > 0.  Default :data:`NGA_WEST2_PERIODS_S`.
    damping : float, optional
        Fraction of critical damping, in [0, 1).  Default 0.05.

    Returns
    -------
    ResponseSpectrum
        Arrays of shape (n_periods,) for 1-D input, (n_components, n_periods)
        for 2-D input.
    """
    x = _acc(acc_mps2, "acc_mps2", allow_2d=True)
    one = np.ndim(acc_mps2) == 1
    return _spectrum(x, _positive(dt_s, "dt_s"), _periods(periods_s), _damping(damping), one)


def _spectrum(x: np.ndarray, dt_s: float, periods: FloatArray, damping: float, one: bool) -> ResponseSpectrum:
    sd, sa = _motion.sdof_peaks(x, dt_s, periods, damping)
    if one:
        sd, sa = sd[0], sa[0]
    w = 2.0 * np.pi / periods
    return ResponseSpectrum(periods, damping, sd, w * sd, w * w * sd, sa)


def peak_motion(
    acc_mps2: npt.ArrayLike,
    fs_hz: float,
    *,
    band_hz: tuple[float | None, float | None] = DEFAULT_BAND_HZ,
    pre_event_s: float | None = None,
) -> PeakMotion:
    """PGA, PGV and PGD of one channel after the processing chain (module docstring).

    Parameters
    ----------
    acc_mps2 : array_like, shape (n_samples,)
        Acceleration (m/s^2), >= 2 samples.
    fs_hz : float
        Sampling rate (Hz), > 0.
    band_hz : (float or None, float or None), optional
        Butterworth corners (Hz), each < fs_hz / 2.  Default (0.1, None).
    pre_event_s : float, optional
        Mean-removal window at the start (s); None (default) = whole record.
    """
    fs = _positive(fs_hz, "fs_hz")
    a, chain = _process(_acc(acc_mps2, "acc_mps2", allow_2d=False), fs, band_hz, pre_event_s)
    td = _time_domain(a, 1.0 / fs)[0]
    return PeakMotion(float(td[_motion.T_PGA]), float(td[_motion.T_PGV]), float(td[_motion.T_PGD]), chain)


def arias_intensity(acc_mps2: npt.ArrayLike, dt_s: float) -> float:
    """Arias intensity ``pi / (2 g) * integral a^2 dt`` (m/s), trapezoidal rule.

    Parameters
    ----------
    acc_mps2 : array_like, shape (n_samples,)
        Acceleration (m/s^2) as given (no processing), >= 2 samples.
    dt_s : float
        Sampling interval (s), > 0.
    """
    a = _acc(acc_mps2, "acc_mps2", allow_2d=False).astype(np.float64)
    return float(_time_domain(a, _positive(dt_s, "dt_s"))[0, _motion.T_ARIAS])


def cav(acc_mps2: npt.ArrayLike, dt_s: float) -> float:
    """Cumulative absolute velocity ``integral |a| dt`` (m/s), trapezoidal rule on ``|a_k|``.

    Parameters
    ----------
    acc_mps2 : array_like, shape (n_samples,)
        Acceleration (m/s^2) as given, >= 2 samples.
    dt_s : float
        Sampling interval (s), > 0.
    """
    a = _acc(acc_mps2, "acc_mps2", allow_2d=False).astype(np.float64)
    return float(_time_domain(a, _positive(dt_s, "dt_s"))[0, _motion.T_CAV])


def significant_duration(acc_mps2: npt.ArrayLike, dt_s: float, start: float = 0.05, end: float = 0.95) -> float:
    """Significant duration (s) between fractions ``start`` and ``end`` of Arias intensity.

    ``start=0.05, end=0.75`` gives D5-75; the default gives D5-95.

    Parameters
    ----------
    acc_mps2 : array_like, shape (n_samples,)
        Acceleration (m/s^2) as given, >= 2 samples.
    dt_s : float
        Sampling interval (s), > 0.
    start, end : float, optional
        Fractions with ``0 <= start < end <= 1``.

    Returns
    -------
    float
        ``t(end) - t(start)`` (module docstring); 0 for a record without energy.
    """
    a = _acc(acc_mps2, "acc_mps2", allow_2d=False).astype(np.float64)
    dt = _positive(dt_s, "dt_s")
    lo, hi = _fraction(start, "start"), _fraction(end, "end")
    if not lo < hi:
        raise ValueError(f"start must be < end, got start={start!r}, end={end!r}")
    td = _time_domain(a, dt, lo, hi, hi)[0]
    return float(td[_motion.T_END1] - td[_motion.T_START])


def fourier_amplitude_spectrum(acc_mps2: npt.ArrayLike, dt_s: float) -> tuple[FloatArray, FloatArray]:
    """Fourier amplitude spectrum ``|rfft(a)| dt``.

    Parameters
    ----------
    acc_mps2 : array_like, shape (n_samples,) or (n_components, n_samples)
        Acceleration (m/s^2) as given, >= 2 samples.
    dt_s : float
        Sampling interval (s), > 0.

    Returns
    -------
    freqs_hz : ndarray of float64, shape (n_samples // 2 + 1,)
    amplitude_mps : ndarray of float64, shape (n_freqs,) or (n_components, n_freqs)
        Amplitude (m/s).
    """
    x = _acc(acc_mps2, "acc_mps2", allow_2d=True)
    dt = _positive(dt_s, "dt_s")
    amp: FloatArray = np.abs(np.fft.rfft(x.astype(np.float64), axis=-1)) * dt
    if np.ndim(acc_mps2) == 1:
        amp = amp[0]
    freqs_hz: FloatArray = np.fft.rfftfreq(x.shape[1], dt).astype(np.float64)
    return freqs_hz, amp


def channel_metrics(
    acc_mps2: npt.ArrayLike,
    fs_hz: float,
    *,
    periods_s: npt.ArrayLike = NGA_WEST2_PERIODS_S,
    damping: float = 0.05,
    band_hz: tuple[float | None, float | None] = DEFAULT_BAND_HZ,
    pre_event_s: float | None = None,
) -> MotionMetrics:
    """Every metric of one channel in one call (definitions in the module docstring).

    Parameters
    ----------
    acc_mps2 : array_like, shape (n_samples,)
        Acceleration (m/s^2), >= 2 samples.
    fs_hz : float
        Sampling rate (Hz), > 0.
    periods_s, damping
        As for :func:`response_spectrum`.
    band_hz, pre_event_s
        As for :func:`peak_motion`.
    """
    x = _acc(acc_mps2, "acc_mps2", allow_2d=False)
    return _metrics_rows(x, _positive(fs_hz, "fs_hz"), _periods(periods_s), _damping(damping), band_hz, pre_event_s)[0]


def station_metrics(
    acc_e: npt.ArrayLike,
    acc_n: npt.ArrayLike,
    acc_u: npt.ArrayLike,
    fs_hz: float,
    *,
    periods_s: npt.ArrayLike = NGA_WEST2_PERIODS_S,
    damping: float = 0.05,
    band_hz: tuple[float | None, float | None] = DEFAULT_BAND_HZ,
    pre_event_s: float | None = None,
) -> StationMetrics:
    """:func:`channel_metrics` of each component and :func:`instrumental_intensity`.

    Parameters
    ----------
    acc_e, acc_n, acc_u : array_like, shape (n_samples,)
        East, north and up acceleration (m/s^2) of equal length, >= 2 samples.
    fs_hz : float
        Sampling rate (Hz), > 20 (the intensity band reaches 10 Hz).
    periods_s, damping, band_hz, pre_event_s
        As for :func:`channel_metrics`; ``pre_event_s`` also applies to the intensity.
    """
    x = _three(acc_e, acc_n, acc_u)
    fs = _positive(fs_hz, "fs_hz")
    east, north, up = _metrics_rows(x, fs, _periods(periods_s), _damping(damping), band_hz, pre_event_s)
    return StationMetrics(east, north, up, _intensity(x, fs, pre_event_s))


def _three(acc_e: npt.ArrayLike, acc_n: npt.ArrayLike, acc_u: npt.ArrayLike) -> np.ndarray:
    rows = [_acc(a, name, allow_2d=False) for a, name in ((acc_e, "acc_e"), (acc_n, "acc_n"), (acc_u, "acc_u"))]
    lengths = {r.shape[1] for r in rows}
    if len(lengths) != 1:
        raise ValueError(f"acc_e, acc_n and acc_u must have the same length, got {[r.shape[1] for r in rows]}")
    dtype = np.result_type(*rows)
    return np.ascontiguousarray(np.concatenate(rows, axis=0), dtype=dtype)


def _metrics_rows(
    x: np.ndarray,
    fs_hz: float,
    periods: FloatArray,
    damping: float,
    band_hz: tuple[float | None, float | None],
    pre_event_s: float | None,
) -> list[MotionMetrics]:
    dt = 1.0 / fs_hz
    a, chain = _process(x, fs_hz, band_hz, pre_event_s)
    td = _time_domain(a, dt).tolist()
    sd, sa = _motion.sdof_peaks(a, dt, periods, damping)
    w = 2.0 * np.pi / periods
    return [
        MotionMetrics(
            pga_mps2=row[_motion.T_PGA],
            pgv_mps=row[_motion.T_PGV],
            pgd_m=row[_motion.T_PGD],
            arias_mps=row[_motion.T_ARIAS],
            cav_mps=row[_motion.T_CAV],
            d5_75_s=row[_motion.T_END1] - row[_motion.T_START],
            d5_95_s=row[_motion.T_END2] - row[_motion.T_START],
            spectrum=ResponseSpectrum(periods, damping, sd[k], w * sd[k], w * w * sd[k], sa[k]),
            processing=chain,
        )
        for k, row in enumerate(td)
    ]


# ----------------------------------------------------------------------------- intensity


def round_half_up(value: float) -> float:
    """``value`` rounded to one decimal, ties (x.x5) away from -inf [GB20 "rounded half-up"].

    Decided on the decimal the value stands for, not its binary expansion:
    5.25, 0.35 (stored as 0.34999...) and results of the intensity formulas
    that land within 1e-9 below a tie all round up.
    """
    return math.floor(value * 10.0 + 0.5 + _TIE_TOLERANCE) / 10.0


def intensity_from_peaks(pga_mps2: float, pgv_mps: float) -> IntensityResult:
    """Instrumental intensity from the vector-sum peaks [GB20], Annex A steps 5-8.

    ``I_PGA = 3.17 log10(PGA) + 6.59``; ``I_PGV = 3.00 log10(PGV) + 9.77``;
    ``I = I_PGV`` if ``I_PGA >= 6.0`` and ``I_PGV >= 6.0``, otherwise
    ``(I_PGA + I_PGV) / 2``; clamped to [1.0, 12.0]; rounded half-up to one
    decimal (:func:`round_half_up`); degree ``n`` with ``n - 0.5 <= I < n + 0.5``
    of the rounded value.  A zero peak gives ``-inf`` for its index (no
    warning) and so the clamp's 1.0.

    Parameters
    ----------
    pga_mps2 : float
        Peak vector-sum acceleration (m/s^2), finite, >= 0.
    pgv_mps : float
        Peak vector-sum velocity (m/s), finite, >= 0.
    """
    pga = _peak(pga_mps2, "pga_mps2")
    pgv = _peak(pgv_mps, "pgv_mps")
    i_pga = 3.17 * math.log10(pga) + 6.59 if pga > 0.0 else -math.inf
    i_pgv = 3.00 * math.log10(pgv) + 9.77 if pgv > 0.0 else -math.inf
    raw = i_pgv if (i_pga >= 6.0 and i_pgv >= 6.0) else 0.5 * (i_pga + i_pgv)
    value = round_half_up(min(max(raw, 1.0), 12.0))
    n = min(max(math.floor(value + 0.5 + _TIE_TOLERANCE), 1), 12)
    return IntensityResult(value, _ROMAN[n - 1], n, pga, pgv, i_pga, i_pgv)


def _peak(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    out = float(value)
    if not 0.0 <= out < math.inf:
        raise ValueError(f"{name} must be finite and >= 0, got {value!r}")
    return out


def instrumental_intensity(
    acc_e: npt.ArrayLike,
    acc_n: npt.ArrayLike,
    acc_u: npt.ArrayLike,
    fs_hz: float,
    *,
    pre_event_s: float | None = None,
) -> IntensityResult:
    """Instrumental seismic intensity of a three-component record [GB20], Annex A.

    Chain in the module docstring (mean removal, causal 4th-order Butterworth
    0.1-10 Hz, trapezoidal velocity, vector sums), then :func:`intensity_from_peaks`.

    Parameters
    ----------
    acc_e, acc_n, acc_u : array_like, shape (n_samples,)
        Orthogonal free-field acceleration components (m/s^2), equal lengths,
        >= 2 samples.
    fs_hz : float
        Sampling rate (Hz), > 20.
    pre_event_s : float, optional
        Mean-removal window at the start (s); None (default) = whole record.
    """
    return _intensity(_three(acc_e, acc_n, acc_u), _positive(fs_hz, "fs_hz"), pre_event_s)


def _intensity(x: np.ndarray, fs_hz: float, pre_event_s: float | None) -> IntensityResult:
    low, high = INTENSITY_BAND_HZ
    if not fs_hz > 2.0 * high:
        raise ValueError(f"fs_hz must be > {2.0 * high:g} Hz for the {low:g}-{high:g} Hz band, got {fs_hz:g}")
    a = _filter(_demean(x, _pre_event_samples(pre_event_s, fs_hz, x.shape[1])), _butter(low, high, fs_hz), False)
    pga, pgv = _motion.vector_peaks(a, 1.0 / fs_hz)
    return intensity_from_peaks(pga, pgv)


# ----------------------------------------------------------------------------- MMI


@overload
def mmi_worden2012(value: float, parameter: GroundMotionParameter | str) -> float: ...
@overload
def mmi_worden2012(value: npt.NDArray[np.floating], parameter: GroundMotionParameter | str) -> FloatArray: ...
def mmi_worden2012(
    value: float | npt.NDArray[np.floating], parameter: GroundMotionParameter | str
) -> float | FloatArray:
    """Modified Mercalli intensity from PGA or PGV [W12] (coefficients :data:`WORDEN2012`).

    Parameters
    ----------
    value : float or ndarray
        PGA in m/s^2 (``parameter="pga_mps2"``) or PGV in m/s
        (``parameter="pgv_mps"``), finite, >= 0; converted to cm/s^2 or cm/s.
    parameter : GroundMotionParameter or str
        Which peak ``value`` is.

    Returns
    -------
    float or ndarray of float64
        MMI clipped to [1, 10]; 1 for a zero peak.  Same shape as ``value``.
    """
    coef = WORDEN2012[GroundMotionParameter(parameter)]
    y = np.asarray(value, dtype=np.float64)
    if not (np.isfinite(y).all() and (y >= 0).all()):
        raise ValueError("value must be finite and >= 0")
    with np.errstate(divide="ignore"):
        logy = np.log10(y * 100.0)  # m -> cm
    mmi = np.where(logy <= coef.t1, coef.c1 + coef.c2 * logy, coef.c3 + coef.c4 * logy)
    out = np.clip(mmi, 1.0, 10.0)
    if out.ndim == 0:
        return float(out)
    return out
