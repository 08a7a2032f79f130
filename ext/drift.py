"""Inter-storey drift ratios from floor accelerometers.

Arrays in, frozen dataclasses out; numpy/scipy only.  Input arrays are never
modified; all arithmetic is float64; NaN or Inf in an input raises
:class:`ValueError` naming the argument.

Definitions
-----------
Levels and storeys
    ``acc_mps2[i]`` is the absolute horizontal acceleration (m/s^2) along one
    axis at instrumented level ``i``, ``heights_m[i]`` its height (m) above
    any common datum, strictly increasing.  Level 0 is normally the ground or
    the base slab.  Storey ``k`` (0-based, ``k = 0 .. n_levels - 2``) spans
    levels ``k`` and ``k + 1``; its height is ``h_k = heights_m[k + 1] -
    heights_m[k]``.
No ground sensor
    Nothing is assumed below the lowest sensor: drifts are computed only
    between consecutive *instrumented* levels, so without a sensor at the base
    the storeys below the lowest sensor are not reported (the first reported
    storey is then the one above the lowest sensor).  When instrumented levels
    are not adjacent floors, a "storey" is the whole interval between them and
    its ratio is the interval's *average* drift ratio, which can be lower than
    the largest single-storey drift inside the interval.
Processing chain (shared with :mod:`quakewatch.ext.motion`, version
:data:`~quakewatch.ext.motion.MOTION_ALGORITHM_VERSION`)
    1. Remove the mean of the first ``pre_event_s`` seconds of each level (the
       whole record when ``None``).
    2. Zero-phase order-4 Butterworth (forward-backward, no padding): high-pass
       at ``highpass_hz`` (default 0.1 Hz), optional low-pass at
       ``lowpass_hz``.  Corners well below the fundamental frequency keep the
       dynamic drift; the high-pass removes what double integration cannot
       recover anyway (sensor offsets, tilt, residual/permanent drift).  Noise
       integrated twice grows like ``1 / f^2``: a corner nearer the
       fundamental (e.g. ``f1 / 5``) lowers that noise, at the cost of
       attenuating slow response.
    3. Velocity and displacement of each level by the cumulative trapezoidal
       rule from zero initial values (as in ``motion``), with the high-pass of
       step 2 applied again (zero phase) to the velocity and to the
       displacement.  Starting the integration from zero leaves the velocity
       offset by minus its initial value and the displacement with a linear
       trend ``-v(0) t``; on a noisy record that trend dominates the drift
       (with noise of 1 % of the peak acceleration: errors of several hundred
       per cent over a 60 s record).  The repeated high-pass removes both.
       ``ProcessingChain.integration`` reads ``"trapezoid+highpass"`` then.
    Because every step is linear and applied with the same settings to every
    level, the storey drift ``d_k(t) = u_{k+1}(t) - u_k(t)`` equals the drift
    obtained from the processed *relative* acceleration of the two levels:
    the ground motion common to both cancels.  Zero-phase filtering without
    padding disturbs the first and last few ``1 / highpass_hz`` seconds:
    records should carry quiet pre- and post-event windows of that length.
Peak drift ratio
    ``theta_k = max_t |d_k(t)| / h_k`` (dimensionless); ``peak_time_s`` is the
    time of that maximum from the first sample.  Two horizontal axes
    (:func:`interstorey_drift_vector`): ``d_k(t) = sqrt(dE_k(t)^2 + dN_k(t)^2)``,
    the peak of the vector drift in the horizontal plane (orientation
    independent; it is >= the peak of either axis and <= their root-sum-square).

References
----------
[MOT] :mod:`quakewatch.ext.motion` module docstring (processing chain).
[REF] /work/shared/REFERENCES.md, "Operational modal analysis and health"
    (drift limits applied by ``quakewatch.server.analysis.tagging``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy import integrate

from quakewatch.ext.motion import DEFAULT_BAND_HZ, ProcessingChain, _acc, _butter, _filter, _positive, _process

__all__ = [
    "DEFAULT_HIGHPASS_HZ",
    "DRIFT_ALGORITHM_VERSION",
    "DriftResult",
    "interstorey_drift",
    "interstorey_drift_vector",
]

#: Bump when any definition in the module docstring changes (goes into provenance).
DRIFT_ALGORITHM_VERSION: Final = "1"
#: Default high-pass corner (Hz): the ``motion`` default.
DEFAULT_HIGHPASS_HZ: Final = DEFAULT_BAND_HZ[0]
_MIN_LEVELS: Final = 2

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True, eq=False)
class DriftResult:
    """Peak inter-storey drift of one record (definitions in the module docstring).

    Attributes
    ----------
    drift_ratio : ndarray of float64, shape (n_storeys,)
        Peak drift ratio ``max|d_k| / h_k`` of each storey (read-only).
    peak_drift_m : ndarray of float64, shape (n_storeys,)
        Peak drift ``max|d_k|`` (m) (read-only).
    peak_time_s : ndarray of float64, shape (n_storeys,)
        Time of each peak (s) from the first sample (read-only).
    storey_height_m : ndarray of float64, shape (n_storeys,)
        ``h_k = heights_m[k + 1] - heights_m[k]`` (m) (read-only).
    max_drift_ratio : float
        Largest ``drift_ratio``.
    critical_storey : int
        Index of the storey with ``max_drift_ratio`` (first one on ties).
    components : str
        ``"single axis"`` or ``"horizontal vector"``.
    processing : ProcessingChain
        The chain applied to every level.
    algorithm_version : str
        :data:`DRIFT_ALGORITHM_VERSION`.
    """

    drift_ratio: FloatArray
    peak_drift_m: FloatArray
    peak_time_s: FloatArray
    storey_height_m: FloatArray
    max_drift_ratio: float
    critical_storey: int
    components: str
    processing: ProcessingChain
    algorithm_version: str = DRIFT_ALGORITHM_VERSION


# ----------------------------------------------------------------------------- validation


def _levels(acc_mps2: npt.ArrayLike, name: str) -> np.ndarray:
    """``acc_mps2`` as a finite 2-D array (n_levels >= 2, n_samples >= 2), never copied needlessly."""
    if np.ndim(acc_mps2) != 2:
        raise ValueError(f"{name} must be 2-D (n_levels, n_samples), got shape {np.shape(acc_mps2)}")
    arr = _acc(acc_mps2, name, allow_2d=True)
    if arr.shape[0] < _MIN_LEVELS:
        raise ValueError(f"{name} must have at least {_MIN_LEVELS} levels (rows), got {arr.shape[0]}")
    return arr


def _heights(heights_m: npt.ArrayLike, n_levels: int) -> FloatArray:
    arr = np.array(heights_m, dtype=np.float64)  # a copy: never a view of the caller's array
    if arr.ndim != 1 or arr.shape[0] != n_levels:
        raise ValueError(f"heights_m must have shape ({n_levels},) (one height per level), got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError("heights_m contains NaN or Inf")
    steps = np.diff(arr)
    bad = np.flatnonzero(steps <= 0.0)
    if bad.size:
        k = int(bad[0])
        raise ValueError(
            f"heights_m must be strictly increasing, got heights_m[{k + 1}]={arr[k + 1]!r} "
            f"<= heights_m[{k}]={arr[k]!r}"
        )
    return arr


def _corner(value: float | None, name: str) -> float | None:
    if value is None:
        return None
    return _positive(value, name)


def _band(highpass_hz: float | None, lowpass_hz: float | None, fs_hz: float) -> tuple[float | None, float | None]:
    low, high = _corner(highpass_hz, "highpass_hz"), _corner(lowpass_hz, "lowpass_hz")
    nyquist = 0.5 * fs_hz
    for label, f in (("highpass_hz", low), ("lowpass_hz", high)):
        if f is not None and f >= nyquist:
            raise ValueError(f"{label} must be < fs_hz / 2 = {nyquist:g} Hz, got {f:g}")
    if low is not None and high is not None and low >= high:
        raise ValueError(f"highpass_hz must be < lowpass_hz, got {low:g} >= {high:g}")
    return low, high


# ----------------------------------------------------------------------------- kernel


def _displacements(
    x: np.ndarray, fs_hz: float, band: tuple[float | None, float | None], pre_event_s: float | None
) -> tuple[FloatArray, ProcessingChain]:
    """Displacement (m) of every row (steps 1-3 of the chain) and its provenance."""
    a, chain = _process(x, fs_hz, band, pre_event_s)
    dt = 1.0 / fs_hz
    highpass = _butter(band[0], None, fs_hz)  # None without a high-pass corner
    v = _filter(np.ascontiguousarray(integrate.cumulative_trapezoid(a, dx=dt, axis=1, initial=0.0)), highpass, True)
    u = _filter(np.ascontiguousarray(integrate.cumulative_trapezoid(v, dx=dt, axis=1, initial=0.0)), highpass, True)
    if highpass is not None:
        chain = dataclasses.replace(chain, integration="trapezoid+highpass")
    return u, chain


def _result(
    drift_abs_m: FloatArray, storey_m: FloatArray, fs_hz: float, components: str, chain: ProcessingChain
) -> DriftResult:
    """Peaks of ``drift_abs_m`` (n_storeys, n_samples), already >= 0."""
    idx = np.argmax(drift_abs_m, axis=1)
    peak = drift_abs_m[np.arange(drift_abs_m.shape[0]), idx]
    ratio = peak / storey_m
    times = idx.astype(np.float64) / fs_hz
    storey = storey_m.copy()
    for arr in (ratio, peak, times, storey):
        arr.flags.writeable = False
    k = int(np.argmax(ratio))
    return DriftResult(ratio, peak, times, storey, float(ratio[k]), k, components, chain)


def interstorey_drift(
    acc_mps2: npt.ArrayLike,
    heights_m: npt.ArrayLike,
    fs_hz: float,
    *,
    pre_event_s: float | None = None,
    highpass_hz: float | None = DEFAULT_HIGHPASS_HZ,
    lowpass_hz: float | None = None,
) -> DriftResult:
    """Peak inter-storey drift ratios along one horizontal axis.

    Parameters
    ----------
    acc_mps2 : array_like, shape (n_levels, n_samples)
        Absolute horizontal acceleration (m/s^2) at each instrumented level,
        all along the same axis and sampled together; ``n_levels >= 2``
        (level 0 = ground/base when instrumented, see the module docstring),
        ``n_samples >= 2``, finite.
    heights_m : array_like, shape (n_levels,)
        Height of each level (m), finite, strictly increasing.
    fs_hz : float
        Sampling rate (Hz), > 0.
    pre_event_s : float, optional
        Mean-removal window at the start (s); None (default) = whole record.
    highpass_hz : float or None, optional
        High-pass corner (Hz), < fs_hz / 2; None = no high-pass.  Default 0.1.
    lowpass_hz : float or None, optional
        Low-pass corner (Hz), < fs_hz / 2 and > highpass_hz; None (default) =
        no low-pass.

    Returns
    -------
    DriftResult
        One entry per storey (``n_levels - 1``).

    Raises
    ------
    ValueError
        Wrong shapes, fewer than 2 levels or samples, NaN/Inf, heights not
        strictly increasing, corners outside (0, fs_hz / 2) or crossed,
        ``pre_event_s`` outside the record.
    TypeError
        Non-real arrays or scalars.
    """
    x = _levels(acc_mps2, "acc_mps2")
    heights = _heights(heights_m, x.shape[0])
    fs = _positive(fs_hz, "fs_hz")
    u, chain = _displacements(x, fs, _band(highpass_hz, lowpass_hz, fs), pre_event_s)
    drift = np.abs(np.diff(u, axis=0))
    return _result(drift, np.diff(heights), fs, "single axis", chain)


def interstorey_drift_vector(
    acc_e_mps2: npt.ArrayLike,
    acc_n_mps2: npt.ArrayLike,
    heights_m: npt.ArrayLike,
    fs_hz: float,
    *,
    pre_event_s: float | None = None,
    highpass_hz: float | None = DEFAULT_HIGHPASS_HZ,
    lowpass_hz: float | None = None,
) -> DriftResult:
    """Peak inter-storey drift ratios of the horizontal drift vector.

    Each axis goes through the chain of :func:`interstorey_drift`; the storey
    drift is ``sqrt(dE(t)^2 + dN(t)^2)`` at each sample and its peak is
    reported (module docstring).

    Parameters
    ----------
    acc_e_mps2, acc_n_mps2 : array_like, shape (n_levels, n_samples)
        Absolute acceleration (m/s^2) along two orthogonal horizontal axes
        (e.g. east and north, or the building's principal axes), same shape,
        same levels in the same order.
    heights_m, fs_hz, pre_event_s, highpass_hz, lowpass_hz
        As for :func:`interstorey_drift`.
    """
    xe = _levels(acc_e_mps2, "acc_e_mps2")
    xn = _levels(acc_n_mps2, "acc_n_mps2")
    if xe.shape != xn.shape:
        raise ValueError(f"acc_e_mps2 and acc_n_mps2 must have the same shape, got {xe.shape} and {xn.shape}")
    heights = _heights(heights_m, xe.shape[0])
    fs = _positive(fs_hz, "fs_hz")
    band = _band(highpass_hz, lowpass_hz, fs)
    both = np.concatenate([xe, xn], axis=0, dtype=np.result_type(xe, xn))
    u, chain = _displacements(both, fs, band, pre_event_s)
    n = xe.shape[0]
    de, dn = np.diff(u[:n], axis=0), np.diff(u[n:], axis=0)
    return _result(np.hypot(de, dn), np.diff(heights), fs, "horizontal vector", chain)
