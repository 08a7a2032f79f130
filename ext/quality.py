"""Per-channel data quality of one ingest block, carried across blocks.

:func:`block_quality` is the ingest hot path: one call per block of shape
``(n_channels, n_samples)`` computes, for every channel, the first non-finite
sample, extrema, mean, RMS about the mean, clipped samples, the longest run of
identical values and the number of isolated single-sample spikes.  Runs and
spikes continue across block boundaries through :class:`ChannelCarry`, so a
stream cut into blocks gives the same runs and boundary spikes as one block.

Definitions (``x`` is one channel, converted exactly to float64; ``x[-1]`` and
``x[-2]`` are ``carry.last`` and ``carry.last2``, NaN when there is no such
sample):

Second difference
    ``d[i] = |x[i-1] - 2 x[i] + x[i+1]|`` for ``i = -1, 0, ..., n-2``: every
    sample whose right neighbour is in this block, including the previous
    block's last sample.  ``d[i]`` is *defined* when it is finite, i.e. when the
    three samples are finite.  The last sample ``x[n-1]`` is judged in the next
    block, so each sample is judged exactly once over a stream.
Spike scale
    ``s`` = mean of the defined ``d[i]`` of this block (0 when none).
Spike
    Sample ``i`` is a spike when ``d[i]`` is defined, ``s > 0`` and

    * ``d[i] > spike_factor * s`` (large curvature), and
    * ``2 |x[i+1] - x[i-1]| < d[i]`` (isolation: the signal leaves and returns;
      a step or a two-sample excursion fails this test).

    ``s`` includes the spike's own ``d``, so a block needs more than
    ``2 * spike_factor`` defined second differences before a spike on a flat
    background can be found.  For a spike of height ``h`` on a linear
    background of slope ``b`` per sample, ``d[i] = 2|h|`` and
    ``|x[i+1] - x[i-1]| = 2|b|``: isolation holds when ``|b| < |h| / 2``.

    The decision uses only ``x[i-1], x[i], x[i+1]``, which is what makes it
    independent of where the stream is cut (the carry holds two samples).
    Isolation is deliberately *not* "the neighbours' second differences
    ``d[i-1]``, ``d[i+1]`` are below ``d[i] / 2``": for a clean spike they are
    exactly ``d[i] / 2`` (so noise decides), and ``d[i+1]`` needs ``x[i+2]``,
    which is not yet known for a spike on the block edge.
Run
    Maximal set of consecutive samples whose float64 values are bitwise equal
    (so ``-0.0`` and ``0.0`` differ, and identical NaNs form a run; a block
    with NaN is rejected anyway).  The run carried in continues when ``x[0]``
    is bitwise equal to ``carry.last``; ``carry.run`` counts the samples of
    that run seen so far.
Clipped
    Finite ``x[i]`` with ``|x[i]| >= clip_level``, counted only where ``clip_level > 0`` (a level
    ``<= 0`` or NaN disables the count).

Statistics (extrema, mean, RMS, clipping) use the finite samples only; a
channel that has any non-finite sample is expected to be rejected by the caller
through ``first_nonfinite``.  A channel without finite samples (including
``n_samples == 0``) has ``minimum = maximum = NaN`` and ``mean = rms = 0``.

:class:`QualityTracker` is the streaming form for a whole sensor array: it keeps
these statistics, the carry and each channel's time and rate continuity as
running state, checks each block against them and folds it in, in one call.

The module imports only NumPy and the compiled kernels ``_quality`` and ``_tracker``.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from quakewatch.ext import _quality
from quakewatch.ext._tracker import (
    NONFINITE,
    OK,
    OVERLAP,
    RATE_REGISTERED,
    RATE_STREAMED,
    QualityTracker,
)

__all__ = [
    "NONFINITE",
    "OK",
    "OVERLAP",
    "QUALITY_ALGORITHM_VERSION",
    "RATE_REGISTERED",
    "RATE_STREAMED",
    "BlockQuality",
    "ChannelCarry",
    "QualityTracker",
    "block_quality",
]

#: Bump when any definition in the module docstring changes (goes into provenance).
QUALITY_ALGORITHM_VERSION: Final = "1"

_DTYPES: Final[frozenset[np.dtype[np.generic]]] = frozenset(
    {np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.int32)}
)
_F64: Final = np.dtype(np.float64)
_I64: Final = np.dtype(np.int64)
# Rows of the kernel's two output arrays.
_F_MINIMUM: Final[int] = _quality.F_MINIMUM
_F_MAXIMUM: Final[int] = _quality.F_MAXIMUM
_F_MEAN: Final[int] = _quality.F_MEAN
_F_RMS: Final[int] = _quality.F_RMS
_F_LAST: Final[int] = _quality.F_LAST
_F_LAST2: Final[int] = _quality.F_LAST2
_I_FIRST_NONFINITE: Final[int] = _quality.I_FIRST_NONFINITE
_I_N_CLIPPED: Final[int] = _quality.I_N_CLIPPED
_I_LONGEST_RUN: Final[int] = _quality.I_LONGEST_RUN
_I_N_SPIKES: Final[int] = _quality.I_N_SPIKES
_I_RUN: Final[int] = _quality.I_RUN


@dataclass(frozen=True, slots=True, eq=False)
class ChannelCarry:
    """State carried from one block to the next, per channel.

    Parameters
    ----------
    last : ndarray of float64, shape (n_channels,)
        Previous block's last sample (the sample's units), NaN when none yet.
    last2 : ndarray of float64, shape (n_channels,)
        Previous block's second-to-last sample, NaN when none yet.
    run : ndarray of int64, shape (n_channels,)
        Length in samples of the trailing run of identical values ending at
        ``last``; 0 when none yet.
    """

    last: npt.NDArray[np.float64]
    last2: npt.NDArray[np.float64]
    run: npt.NDArray[np.int64]

    @classmethod
    def empty(cls, n_channels: int) -> ChannelCarry:
        """Carry for the first block of a stream (no previous samples).

        Parameters
        ----------
        n_channels : int
            Number of channels, >= 0.
        """
        if isinstance(n_channels, bool) or not isinstance(n_channels, (int, np.integer)):
            raise TypeError(f"n_channels must be an int, got {type(n_channels).__name__}")
        if n_channels < 0:
            raise ValueError(f"n_channels must be >= 0, got {n_channels}")
        return cls(
            last=np.full(n_channels, np.nan),
            last2=np.full(n_channels, np.nan),
            run=np.zeros(n_channels, dtype=np.int64),
        )

    @property
    def n_channels(self) -> int:
        """Number of channels."""
        return int(self.last.shape[0])


@dataclass(frozen=True, slots=True, eq=False)
class BlockQuality:
    """Quality of one block; every array has shape (n_channels,).

    Definitions are in the module docstring.

    Attributes
    ----------
    first_nonfinite : ndarray of int64
        Index of the first NaN/Inf sample in the block, -1 if none (always -1
        for int32 data).
    minimum, maximum : ndarray of float64
        Extrema of the finite samples (sample units); NaN when there is none.
    mean : ndarray of float64
        Mean of the finite samples (sample units); 0 when there is none.
    rms : ndarray of float64
        Root-mean-square about the mean, i.e. population standard deviation of
        the finite samples (sample units); 0 when there is none.
    n_clipped : ndarray of int64
        Finite samples with ``|x| >= clip_level``; 0 where ``clip_level <= 0``.
    longest_run : ndarray of int64
        Longest run of identical consecutive values ending in this block,
        counting the samples carried in from previous blocks; 0 for an empty
        block.
    n_spikes : ndarray of int64
        Isolated single-sample spikes judged in this block (samples
        ``-1 .. n_samples-2``).
    carry : ChannelCarry
        State to pass to the next block of the same stream.
    """

    first_nonfinite: npt.NDArray[np.int64]
    minimum: npt.NDArray[np.float64]
    maximum: npt.NDArray[np.float64]
    mean: npt.NDArray[np.float64]
    rms: npt.NDArray[np.float64]
    n_clipped: npt.NDArray[np.int64]
    longest_run: npt.NDArray[np.int64]
    n_spikes: npt.NDArray[np.int64]
    carry: ChannelCarry


def block_quality(
    data: np.ndarray,
    clip_level: npt.ArrayLike = 0.0,
    carry: ChannelCarry | None = None,
    spike_factor: float = 20.0,
) -> BlockQuality:
    """Per-channel data quality of one block, continuing the previous block.

    Parameters
    ----------
    data : ndarray of float32, float64 or int32, shape (n_channels, n_samples)
        Samples of one block (counts or physical units).  1-D input is one
        channel.  Never modified; not copied when C-contiguous and native-endian.
    clip_level : float or ndarray of float, shape (n_channels,), optional
        Clip level in the units of ``data`` (typically the digitizer full
        scale); ``<= 0`` or NaN disables the clip count.  Default 0.
    carry : ChannelCarry, optional
        ``carry`` of the previous block's result; ``None`` starts a stream.
    spike_factor : float, optional
        Spike threshold in units of the block's mean absolute second
        difference; finite and > 0.  Default 20.

    Returns
    -------
    BlockQuality
        Per-channel results and the carry for the next block.  For
        ``n_samples == 0`` every count is 0, ``first_nonfinite`` is -1,
        ``minimum``/``maximum`` are NaN, ``mean``/``rms`` are 0 and ``carry`` is
        the input carry object itself.

    Raises
    ------
    TypeError
        ``data`` is not an ndarray of float32/float64/int32, ``clip_level`` is
        not real, ``carry`` is not a ChannelCarry or has wrong dtypes.
    ValueError
        Wrong number of dimensions or channels, ``spike_factor`` not finite and
        positive.
    """
    if not isinstance(data, np.ndarray):
        raise TypeError(f"data must be a numpy.ndarray, got {type(data).__name__}")
    if data.ndim == 1:
        data = data.reshape(1, -1)
    elif data.ndim != 2:
        raise ValueError(f"data must have shape (n_channels, n_samples), got shape {data.shape}")
    if data.dtype not in _DTYPES:
        native = data.dtype.newbyteorder("=")
        if native not in _DTYPES:
            raise TypeError(f"data must have dtype float32, float64 or int32, got {data.dtype}")
        data = data.astype(native)
    if not data.flags.c_contiguous:
        data = np.ascontiguousarray(data)
    n_channels = data.shape[0]

    if type(clip_level) is float:  # the common case, without an array
        clip_scalar, clip_levels = clip_level, None
    else:
        clip_scalar, clip_levels = _clip_levels(clip_level, n_channels)
    if carry is None:
        carry = ChannelCarry.empty(n_channels)
    else:
        _check_carry(carry, n_channels)
    if type(spike_factor) is not float or not 0.0 < spike_factor < math.inf:
        spike_factor = _spike_factor(spike_factor)

    fout, iout = _quality.quality(
        data, clip_scalar, clip_levels, carry.last, carry.last2, carry.run, spike_factor
    )
    return BlockQuality(
        first_nonfinite=iout[_I_FIRST_NONFINITE],
        minimum=fout[_F_MINIMUM],
        maximum=fout[_F_MAXIMUM],
        mean=fout[_F_MEAN],
        rms=fout[_F_RMS],
        n_clipped=iout[_I_N_CLIPPED],
        longest_run=iout[_I_LONGEST_RUN],
        n_spikes=iout[_I_N_SPIKES],
        carry=(
            ChannelCarry(last=fout[_F_LAST], last2=fout[_F_LAST2], run=iout[_I_RUN])
            if data.shape[1] > 0
            else carry
        ),
    )


def _clip_levels(
    clip_level: npt.ArrayLike, n_channels: int
) -> tuple[float, npt.NDArray[np.float64] | None]:
    """``(scalar, None)`` or ``(0.0, contiguous float64 array of shape (n_channels,))``."""
    raw = np.asarray(clip_level)
    if raw.dtype.kind not in "iuf":
        raise TypeError(f"clip_level must be a real scalar or array, got dtype {raw.dtype}")
    if raw.ndim == 0:
        return float(raw), None
    if raw.shape != (n_channels,):
        raise ValueError(
            f"clip_level must be a scalar or have shape ({n_channels},), got shape {raw.shape}"
        )
    return 0.0, np.ascontiguousarray(raw, dtype=np.float64)


def _check_carry(carry: ChannelCarry, n_channels: int) -> None:
    """Raise unless ``carry`` has the kernel's dtypes and ``n_channels`` entries."""
    if not isinstance(carry, ChannelCarry):
        raise TypeError(f"carry must be a ChannelCarry or None, got {type(carry).__name__}")
    last, last2, run = carry.last, carry.last2, carry.run
    shape = (n_channels,)
    if (
        type(last) is np.ndarray
        and type(last2) is np.ndarray
        and type(run) is np.ndarray
        and last.dtype == _F64
        and last2.dtype == _F64
        and run.dtype == _I64
        and last.shape == shape
        and last2.shape == shape
        and run.shape == shape
        and last.flags.c_contiguous
        and last2.flags.c_contiguous
        and run.flags.c_contiguous
    ):
        return
    for name, arr, dtype in (("last", last, _F64), ("last2", last2, _F64), ("run", run, _I64)):
        if not isinstance(arr, np.ndarray) or arr.dtype != dtype:
            found = arr.dtype if isinstance(arr, np.ndarray) else type(arr).__name__
            raise TypeError(f"carry.{name} must be an ndarray of {dtype}, got {found}")
        if arr.shape != shape:
            raise ValueError(
                f"carry.{name} must have shape ({n_channels},) to match data, got {arr.shape}"
            )
        if not arr.flags.c_contiguous:
            raise ValueError(f"carry.{name} must be C-contiguous")


def _spike_factor(spike_factor: float) -> float:
    """``spike_factor`` as a float, checked real, finite and positive."""
    if isinstance(spike_factor, bool) or not isinstance(spike_factor, numbers.Real):
        raise TypeError(f"spike_factor must be a real number, got {type(spike_factor).__name__}")
    factor = float(spike_factor)
    if not 0.0 < factor < math.inf:
        raise ValueError(f"spike_factor must be finite and > 0, got {spike_factor!r}")
    return factor
