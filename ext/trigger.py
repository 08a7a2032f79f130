"""Seismic triggers: characteristic functions, on/off detection and network coincidence.

Batch functions carry ObsPy 1.5's names, signatures and semantics
(``obspy.signal.trigger``; references [Withers1998]_, [Trnkoczy2012]_) and are
verified against ObsPy in ``tests/test_trigger_batch.py``.  The streaming classes
(:class:`RecursiveStaLta`, :class:`ClassicStaLta`, :class:`CarlStaTrig`,
:class:`ZDetect`, :class:`TriggerOnset`) carry their state across blocks and give
the same bits whatever the block boundaries; for the STA/LTA family they equal the
batch function on the concatenated record (warm-up counted from the first sample
ever processed).  All kernels are in ``_trigger.pyx``.

Conventions (every function)
    ``a`` is 1-D ``(n,)`` or 2-D ``(n_channels, n)`` (rows processed independently),
    float32, float64 or int32 natively; other real dtypes are converted to float64
    (int64 exactly up to 2**53).  Samples are converted to float64 before squaring,
    so int32 counts never overflow (ObsPy squares integer arrays in their own dtype).
    Inputs are never modified.  Outputs are float64 of the input's shape.
    Window lengths are in samples (convert seconds once at the edge, as ObsPy's
    ``Trace.trigger`` does with ``int(seconds * sampling_rate)``).
Windows
    ``1 <= nsta < nlta <= 2**30`` for the STA/LTA family; otherwise ``ValueError``
    naming the parameter and its limit.
Zero and short input
    A ratio whose denominator is exactly 0 is 0 (ObsPy gives NaN or Inf): all-zero
    input gives an all-zero characteristic function (carl_sta_trig: ``-quiet``
    after its warm-up, ``-1`` during it).  Input shorter than the warm-up gives
    the warm-up value everywhere (ObsPy raises or returns un-muted values).
Non-finite samples
    NaN or Inf propagates: for the recursive filters, the running window sums and
    the Z statistics the characteristic function is NaN from the first non-finite
    sample until :meth:`reset` (batch: to the end of the record), as in ObsPy's C
    kernels.  ``trigger_onset`` treats NaN as below both thresholds (as ObsPy's
    ``np.where(cf >= thr)``).  Reject such blocks upstream (``ext.quality``).
Exact classic STA/LTA
    ObsPy's classic kernel keeps running add/subtract sums that stay wrong (28 %
    after a burst 10^7 times the noise).  Here every window sum has relative error
    ``<= 2**-33 ~ 1.2e-10`` at every sample (re-anchored by exact recomputation
    when an error budget is exceeded; details in ``_trigger.pyx``), so the classic
    characteristic function has relative error ``<= 2.4e-10 + 4u`` throughout.

References
----------
.. [Withers1998] Withers, M. et al. (1998), A comparison of select trigger
   algorithms for automated global seismic phase and event detection, BSSA 88(1).
.. [Trnkoczy2012] Trnkoczy, A. (2012), Understanding and parameter setting of
   STA/LTA trigger algorithm, NMSOP-2 IS 8.1.
.. [Swindell1977] Swindell, W. H. and Snell, N. S. (1977), Station processor
   automatic signal detection system, phase I, Texas Instruments report.
.. [Han2009] Han, L., Wong, J. and Bancroft, J. C. (2009), Time picking and random
   noise reduction on microseismic data, CREWES report 21.
.. [Maeda1985] Maeda, N. (1985), A method for reading and checking phase times in
   autoprocessing system of seismic wave data, Zisin 38.
.. [Chan1979] Chan, T. F., Golub, G. H. and LeVeque, R. J. (1979), Updating formulae
   and a pairwise algorithm for computing sample variances, Stanford CS report
   STAN-CS-79-773 (combining block means and sums of squared deviations).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Final

import numpy as np
import numpy.typing as npt

from quakewatch.ext import _trigger
from quakewatch.ext._trigger import (
    CarlStaTrig,
    ClassicStaLta,
    OnsetUpdate,
    RecursiveStaLta,
    TriggerOnset,
    ZDetect,
)

__all__ = [
    "ALGORITHMS",
    "TRIGGER_ALGORITHM_VERSION",
    "Algorithm",
    "CarlStaTrig",
    "ClassicStaLta",
    "CoincidenceEvent",
    "OnsetUpdate",
    "RecursiveStaLta",
    "TriggerOnset",
    "TriggerType",
    "ZDetect",
    "aic_simple",
    "carl_sta_trig",
    "classic_sta_lta",
    "coincidence_trigger",
    "delayed_sta_lta",
    "energy_ratio",
    "modified_energy_ratio",
    "recursive_sta_lta",
    "trigger_onset",
    "z_detect",
]

#: Bump when any definition in this module changes (goes into provenance).
TRIGGER_ALGORITHM_VERSION: Final = "1"

F64Array = npt.NDArray[np.float64]


def recursive_sta_lta(a: npt.ArrayLike, nsta: int, nlta: int) -> F64Array:
    """Recursive STA/LTA [Withers1998]_ (ObsPy's ``recursive_sta_lta``).

    For samples ``k >= 1`` (the first sample is not used, as in ObsPy):
    ``sta = x[k]^2 / nsta + (1 - 1/nsta) sta``, likewise ``lta`` with ``nlta``,
    starting from ``sta = 0``, ``lta = 1e-99`` (ObsPy starts at 0, so a record that is
    exactly zero beyond the warm-up gives 0/0 there; otherwise the outputs are identical); ``cf[k] = sta / lta`` (0 where
    ``lta == 0``) and ``cf[k] = 0`` for ``k < nlta``.  Bit-identical to ObsPy's C
    kernel for finite float64 input.

    Parameters
    ----------
    a : array_like, shape (n,) or (n_channels, n)
        Samples (any units; the ratio is dimensionless).
    nsta, nlta : int
        STA and LTA lengths in samples, ``1 <= nsta < nlta``.

    Returns
    -------
    ndarray of float64, shape of ``a``
    """
    return _trigger.recursive_sta_lta(a, nsta, nlta)


def classic_sta_lta(a: npt.ArrayLike, nsta: int, nlta: int) -> F64Array:
    """Classic STA/LTA (ObsPy's ``classic_sta_lta``), exact window sums.

    ``cf[k] = mean(x[k-nsta+1..k]^2) / mean(x[k-nlta+1..k]^2)`` for
    ``k >= nlta - 1`` (ObsPy's C kernel mutes ``nlta - 1`` samples, not ``nlta``);
    0 before and where the LTA window is all zeros.  Relative error
    ``<= 2.4e-10 + 4u`` at every sample, also after a burst (module docstring).
    Records shorter than ``nlta`` give zeros (ObsPy raises).

    Parameters
    ----------
    a : array_like, shape (n,) or (n_channels, n)
    nsta, nlta : int
        ``1 <= nsta < nlta``, samples.

    Returns
    -------
    ndarray of float64, shape of ``a``
    """
    return _trigger.classic_sta_lta(a, nsta, nlta)


def delayed_sta_lta(a: npt.ArrayLike, nsta: int, nlta: int) -> F64Array:
    """Delayed STA/LTA [Withers1998]_ exactly as ObsPy 1.5 computes it.

    ObsPy's recursion, reproduced for compatibility (it *adds* the leaving
    sample and its negative indices wrap to the end of the record):
    ``sta[i] = (x[i]^2 + x[i-nsta]^2)/nsta + sta[i-1]``,
    ``lta[i] = (x[i-nsta-1]^2 + x[i-nsta-nlta-1]^2)/nlta + lta[i-1]``,
    ``cf = sta/lta`` (0 where ``lta == 0``), muted (0) for ``i < nsta + nlta + 50``.
    Records of ``n <= nsta + nlta + 50`` samples give zeros (ObsPy may raise).

    Returns
    -------
    ndarray of float64, shape of ``a``
    """
    return _trigger.delayed_sta_lta(a, nsta, nlta)


def carl_sta_trig(a: npt.ArrayLike, nsta: int, nlta: int, ratio: float, quiet: float) -> F64Array:
    """carlSTAtrig characteristic function (Earthworm; ObsPy's ``carl_sta_trig``).

    With trailing means over raw samples (0 before the window is full)::

        STA[k]  = mean x[k-nsta .. k-1]              (k >= nsta)
        LTA[k]  = mean STA[k-1-nlta .. k-2]          (k >= nlta + 1)
        STAR[k] = mean |x - LTA|[k-nsta .. k-1]      (k >= nsta)
        LTAR[k] = mean STAR[k-nlta .. k-1]           (k >= nlta)
        eta = STAR - ratio LTAR - |STA - LTA| - quiet,  eta[k] = -1 for k < nlta

    O(n) with running sums re-anchored (recomputed exactly) every 16 window lengths
    (absolute error about ``34 w u max|x|``, ``u = 2**-53``); ObsPy's vectorised
    version costs O(n (nsta + nlta)).

    Parameters
    ----------
    a : array_like, shape (n,) or (n_channels, n)
    nsta, nlta : int
        ``1 <= nsta < nlta``, samples.
    ratio, quiet : float
        Sensitivity parameters (units of ``a`` for ``quiet``), finite.
    """
    return _trigger.carl_sta_trig(a, nsta, nlta, ratio, quiet)


def z_detect(a: npt.ArrayLike, nsta: int) -> F64Array:
    """Z-detector [Swindell1977]_ over the whole record (ObsPy's ``z_detect``).

    ``S[k] = sum x[k-nsta .. k-1]^2`` for ``k >= nsta``, 0 before (exact window
    sums); ``z = (S - mean(S)) / std(S)`` with the mean and population standard
    deviation over the whole record, warm-up zeros included; ``z = 0`` where
    ``std(S) == 0`` (ObsPy: NaN).  Not causal: see :class:`ZDetect` for streaming.
    """
    return _trigger.z_detect(a, nsta)


def energy_ratio(a: npt.ArrayLike, nsta: int) -> F64Array:
    """Energy ratio [Han2009]_ (ObsPy's ``energy_ratio``).

    ``er[i] = sum x[i .. i+nsta-1]^2 / sum x[i-nsta .. i-1]^2`` for
    ``nsta <= i <= n - nsta``; 0 elsewhere and where the denominator is 0.
    Exact window sums (ObsPy differences a cumulative sum, which loses precision
    late in long records).

    Raises
    ------
    ValueError
        ``nsta < 1`` or ``nsta > n // 2`` (as ObsPy).
    """
    return _trigger.energy_ratio(a, nsta)


def modified_energy_ratio(a: npt.ArrayLike, nsta: int, power: float = 3) -> F64Array:
    """Modified energy ratio ``(er * |x|) ** power`` (ObsPy's ``modified_energy_ratio``)."""
    return _trigger.energy_ratio(a, nsta, power)


def aic_simple(a: npt.ArrayLike) -> F64Array:
    """Simple AIC onset function [Maeda1985]_ (ObsPy's ``aic_simple``).

    ``aic[k-1] = k log var(x[:k]) + (n-k-1) log var(x[k:])`` for ``k = 1 .. n-1``
    without the undefined one-sample terms (k = 1 left, k = n-1 right), and
    ``aic[n-1] = aic[n-2]``; population variances (Welford, stable for large
    offsets), ``log 0 = -inf``.  ``n <= 2`` gives zeros.
    """
    return _trigger.aic_simple(a)


def trigger_onset(
    charfct: npt.ArrayLike,
    thres1: float,
    thres2: float,
    max_len: float = 9e99,
    max_len_delete: bool = False,
) -> npt.NDArray[np.int64]:
    """Trigger on/off sample pairs (ObsPy's ``trigger_onset``).

    A trigger switches on at a sample where ``cf >= thres1`` and the previous
    sample was not (or at the first sample); it switches off at the last sample of
    the first run of ``cf >= thres2`` that ends at or after the on sample.  While
    a trigger is on, further on-crossings are ignored.  A trigger longer than
    ``max_len`` samples (off - on > max_len) is cut to ``on + max_len`` (and a new
    trigger may start at the next on-crossing after that), or dropped when
    ``max_len_delete``; a dropped trigger still masks on-crossings up to its off
    sample.  At the end of the record an open trigger is closed at ``n - 1`` if
    ``cf[n-1] >= thres2``, else at ``n`` (ObsPy in ``max_len_delete`` mode fails
    with OverflowError there; only reachable when ``thres1 < thres2``).

    Returns
    -------
    ndarray of int64, shape (k, 2)
        ``(on, off)`` sample indices, in time order; shape (0, 2) when there is no
        trigger (ObsPy returns an empty list).
    """
    return _trigger.trigger_onset(charfct, thres1, thres2, max_len, max_len_delete)


# ---------------------------------------------------------------------------
# registry (one contract test runs over every entry)


class TriggerType(str, Enum):
    """Characteristic functions by ObsPy's ``Trace.trigger`` names."""

    RECSTALTA = "recstalta"
    CLASSICSTALTA = "classicstalta"
    DELAYEDSTALTA = "delayedstalta"
    CARLSTATRIG = "carlstatrig"
    ZDETECT = "zdetect"
    ENERGYRATIO = "energyratio"
    MODIFIEDENERGYRATIO = "modifiedenergyratio"


@dataclass(frozen=True, slots=True)
class Algorithm:
    """One registered characteristic function.

    Attributes
    ----------
    name : str
        Registry key.
    func : callable
        ``func(a, **params)`` -> float64 array of ``a``'s shape.
    params : tuple of str
        Parameter names after ``a`` (``nsta``, ``nlta``, ``ratio``, ``quiet``, ``power``).
    warmup : callable
        ``warmup(params)`` -> number of leading samples that hold the warm-up value.
    warmup_value : float
        Value of the warm-up samples.
    """

    name: str
    func: Callable[..., F64Array]
    params: tuple[str, ...]
    warmup: Callable[[dict[str, int]], int]
    warmup_value: float = 0.0


ALGORITHMS: Final[dict[str, Algorithm]] = {
    a.name: a
    for a in (
        Algorithm("recstalta", recursive_sta_lta, ("nsta", "nlta"), lambda p: p["nlta"]),
        Algorithm("classicstalta", classic_sta_lta, ("nsta", "nlta"), lambda p: p["nlta"] - 1),
        Algorithm("delayedstalta", delayed_sta_lta, ("nsta", "nlta"), lambda p: p["nsta"] + p["nlta"] + 50),
        Algorithm("carlstatrig", carl_sta_trig, ("nsta", "nlta", "ratio", "quiet"), lambda p: p["nlta"], -1.0),
        Algorithm("zdetect", z_detect, ("nsta",), lambda p: 0),
        Algorithm("energyratio", energy_ratio, ("nsta",), lambda p: p["nsta"]),
        Algorithm("modifiedenergyratio", modified_energy_ratio, ("nsta", "power"), lambda p: p["nsta"]),
        Algorithm("aic_simple", aic_simple, (), lambda p: 0),
    )
}


# ---------------------------------------------------------------------------
# network coincidence


@dataclass(frozen=True, slots=True)
class CoincidenceEvent:
    """One network coincidence trigger (ObsPy's ``coincidence_trigger`` dict, typed).

    Attributes
    ----------
    time_s : float
        On time of the first single-channel trigger, seconds on the caller's time
        axis (``start_time_s + on / fs_hz``).
    duration_s : float
        Latest off time of the coincident triggers minus ``time_s``.
    ids : tuple of str
        Channel ids in the order they joined (ObsPy ``trace_ids``).
    stations : tuple of str
        Station of each id: second dot-separated field of a SEED id
        ``NET.STA.LOC.CHA``, else the id itself (ObsPy ``stations``).
    channels : tuple of int
        Index of each channel in ``channels``.
    coincidence_sum : float
        Sum of the weights of the coincident channels.
    cft_peaks, cft_stds : tuple of float
        Peak and standard deviation of each channel's characteristic function
        over its trigger ``[on, off)`` (ObsPy ``details=True``).
    cft_peak_wmean, cft_std_wmean : float
        Weighted means of those.
    """

    time_s: float
    duration_s: float
    ids: tuple[str, ...]
    stations: tuple[str, ...]
    channels: tuple[int, ...]
    coincidence_sum: float
    cft_peaks: tuple[float, ...]
    cft_stds: tuple[float, ...]
    cft_peak_wmean: float
    cft_std_wmean: float


def _station(channel_id: str) -> str:
    parts = channel_id.split(".")
    return parts[1] if len(parts) >= 2 else channel_id


def _per_channel(value: float | Sequence[float], n: int, name: str) -> list[float]:
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return [float(value)] * n
    values = [float(v) for v in value]  # type: ignore[union-attr]
    if len(values) != n:
        raise ValueError(f"{name} must be a number or have one entry per channel ({n}), got {len(values)}")
    return values


def _cf(kind: TriggerType, x: npt.ArrayLike, fs: float, sta_s: float | None, lta_s: float | None,
        ratio: float | None, quiet: float | None, power: float) -> F64Array:
    """ObsPy's ``Trace.trigger``: seconds -> samples with ``int(s * fs)``."""

    def n(v: float | None, name: str) -> int:
        if v is None:
            raise ValueError(f"{name} is required for trigger_type {kind.value!r}")
        return int(v * fs)

    if kind is TriggerType.RECSTALTA:
        return recursive_sta_lta(x, n(sta_s, "sta_s"), n(lta_s, "lta_s"))
    if kind is TriggerType.CLASSICSTALTA:
        return classic_sta_lta(x, n(sta_s, "sta_s"), n(lta_s, "lta_s"))
    if kind is TriggerType.DELAYEDSTALTA:
        return delayed_sta_lta(x, n(sta_s, "sta_s"), n(lta_s, "lta_s"))
    if kind is TriggerType.CARLSTATRIG:
        if ratio is None or quiet is None:
            raise ValueError("ratio and quiet are required for trigger_type 'carlstatrig'")
        return carl_sta_trig(x, n(sta_s, "sta_s"), n(lta_s, "lta_s"), ratio, quiet)
    if kind is TriggerType.ZDETECT:
        return z_detect(x, n(sta_s, "sta_s"))
    if kind is TriggerType.ENERGYRATIO:
        return energy_ratio(x, n(sta_s, "sta_s"))
    return modified_energy_ratio(x, n(sta_s, "sta_s"), power)


def coincidence_trigger(
    trigger_type: TriggerType | str | None,
    thr_on: float,
    thr_off: float,
    channels: Sequence[npt.ArrayLike],
    fs_hz: float | Sequence[float],
    thr_coincidence_sum: float,
    *,
    ids: Sequence[str] | None = None,
    weights: Sequence[float] | None = None,
    sta_s: float | None = None,
    lta_s: float | None = None,
    ratio: float | None = None,
    quiet: float | None = None,
    power: float = 3,
    trigger_off_extension_s: float = 0.0,
    max_trigger_length_s: float = 1e6,
    delete_long_trigger: bool = False,
    start_time_s: float | Sequence[float] = 0.0,
) -> list[CoincidenceEvent]:
    """Network coincidence trigger over plain arrays (ObsPy's ``coincidence_trigger``).

    Each channel is triggered on its own (``trigger_onset`` with
    ``max_len = int(max_trigger_length_s * fs + 0.5)``); the single-channel
    triggers are sorted by (on time, off time, id) and, taking the earliest
    remaining one, every later trigger of another channel whose on time is at or
    before the group's running off time (+ ``trigger_off_extension_s``) joins it
    and may extend that off time.  A group is reported when its weight sum is
    ``>= thr_coincidence_sum`` and its off time is later than the previous
    reported group's (ObsPy's subset rule).  Event templates / similarity
    checking are not supported.

    Parameters
    ----------
    trigger_type : TriggerType or str or None
        Characteristic function to compute from raw samples, or None when
        ``channels`` already hold characteristic functions.
    thr_on, thr_off : float
        Single-channel on / off thresholds.
    channels : sequence of array_like, each shape (n_i,)
        One record per channel (lengths may differ).
    fs_hz : float or sequence of float
        Sampling rate(s), Hz.
    thr_coincidence_sum : float
        Minimum weight sum of a reported event.
    ids : sequence of str, optional
        Channel ids (SEED ``NET.STA.LOC.CHA`` gives station names); default
        ``"0", "1", ...``.  Channels are identified by index, not id.
    weights : sequence of float, optional
        Weight of each channel in the coincidence sum; default 1.
    sta_s, lta_s : float, optional
        STA / LTA lengths in seconds (``int(s * fs)`` samples, as ObsPy).
    ratio, quiet : float, optional
        carl_sta_trig parameters.
    power : float
        modified_energy_ratio exponent.
    trigger_off_extension_s : float
        Extra time after a group's off time in which new on times still join.
    max_trigger_length_s : float
        Longest single-channel trigger, seconds.
    delete_long_trigger : bool
        Drop (True) or cut (False) single-channel triggers longer than that.
    start_time_s : float or sequence of float
        Time of each channel's first sample, seconds.

    Returns
    -------
    list of CoincidenceEvent
        In time order.
    """
    kind = None if trigger_type is None else TriggerType(trigger_type)
    n_ch = len(channels)
    fs = _per_channel(fs_hz, n_ch, "fs_hz")
    t0 = _per_channel(start_time_s, n_ch, "start_time_s")
    w = [1.0] * n_ch if weights is None else _per_channel(weights, n_ch, "weights")
    names = [str(i) for i in range(n_ch)] if ids is None else [str(i) for i in ids]
    if len(names) != n_ch:
        raise ValueError(f"ids must have one entry per channel ({n_ch}), got {len(names)}")
    for f in fs:
        if not (f > 0 and math.isfinite(f)):
            raise ValueError(f"fs_hz must be finite and > 0, got {f}")

    triggers: list[tuple[float, float, str, int, float, float]] = []
    for ch, x in enumerate(channels):
        cf = (np.asarray(x, dtype=np.float64) if kind is None
              else _cf(kind, x, fs[ch], sta_s, lta_s, ratio, quiet, power))
        max_len = int(max_trigger_length_s * fs[ch] + 0.5)
        for on, off in trigger_onset(cf, thr_on, thr_off, max_len, delete_long_trigger).tolist():
            seg = cf[on:off]
            peak, std = (float(seg.max()), float(seg.std())) if len(seg) else (float(cf[on]), 0.0)
            triggers.append((t0[ch] + on / fs[ch], t0[ch] + off / fs[ch], names[ch], ch, peak, std))
    triggers.sort(key=lambda t: (t[0], t[1], t[2], t[3]))

    events: list[CoincidenceEvent] = []
    last_off = -math.inf
    for i, (on, off, name, ch, peak, std) in enumerate(triggers):
        members = [(name, ch, peak, std)]
        seen = {ch}
        for t_on, t_off, t_name, t_ch, t_peak, t_std in triggers[i + 1:]:
            if t_ch in seen:
                continue
            if t_on > off + trigger_off_extension_s:
                break
            members.append((t_name, t_ch, t_peak, t_std))
            seen.add(t_ch)
            off = max(off, t_off)
        total = sum(w[m[1]] for m in members)
        if total < thr_coincidence_sum or off <= last_off:
            continue
        ws = np.array([w[m[1]] for m in members])
        peaks = tuple(m[2] for m in members)
        stds = tuple(m[3] for m in members)
        wsum = float(ws.sum())
        events.append(CoincidenceEvent(
            time_s=on,
            duration_s=off - on,
            ids=tuple(m[0] for m in members),
            stations=tuple(_station(m[0]) for m in members),
            channels=tuple(m[1] for m in members),
            coincidence_sum=total,
            cft_peaks=peaks,
            cft_stds=stds,
            cft_peak_wmean=float(np.dot(peaks, ws)) / wsum if wsum else math.nan,
            cft_std_wmean=float(np.dot(stds, ws)) / wsum if wsum else math.nan,
        ))
        last_off = off
    return events
