"""How many correlation lags SSI-cov needs: enough for the slowest mode.

The block Toeplitz matrix of SSI-cov holds the output correlations up to lag ``2 i``.  A
mode whose period is much longer than that span barely turns within it, and its poles
do not stabilise: 8 channels, 1 h at 20 Hz, modes at 0.15, 0.22, 0.41, 0.63, 0.9 and
1.3 Hz (1 % damping): with the fixed default span (``2 i / fs`` = 1.4 s) the two lowest
were missed in 3 of 3 records; with ``i`` = 40 (4 s) or more all six were found in 3 of 3.
Tall buildings, long bridges and towers have such fundamental modes (0.1-0.3 Hz).

So the span is made to cover :data:`LOWEST_MODE_PERIODS` of the period (with fewer
than :data:`FEW_CHANNELS` channels :data:`FEW_CHANNEL_PERIODS` periods) of the record's
lowest spectral peak (:func:`lowest_peak_hz`), when that is more than the default: the
peak is the lowest local maximum of the averaged, normalised Welch spectrum (Welch
1967; Hann windows, half overlap) of two random-sign mixes of the standardised channels
that stands :data:`PEAK_PROMINENCE` times above the lower of its neighbouring minima
(the prominence of ``scipy.signal.find_peaks``), at a frequency the record holds at
least :data:`MIN_PERIODS` periods of.  Two mixes instead of every channel: a mode is
in a mix unless its shape cancels in it, and the spectrum costs 7 ms instead of 150 ms
(16 channels, 30 min at 100 Hz).

Few channels
------------
0.6 of the period is enough on the 8-channel example.  Fewer channels carry less
spatial information, and the lags must make up for it.  Modes found (within 1 %) by
the defaults, ``python benchmarks/modal_channels.py [--seconds 1800]``: 10 seeded
records per structure kind of :func:`~quakewatch.ext.synthetic.structure_model`
(building, bridge, tower, dam) and channel count (1, 2, 3, 4, 6, 8, 16), 100 Hz, 10 %
noise, 1,651 modes in all:

==============================  =====================  ======================
lag span                        10-min records         30-min records
==============================  =====================  ======================
0.6 periods for every count     1,548 (24 spurious)    1,575 (8 spurious)
1.2 below 8 channels, else 0.6  1,622 (19)             1,642 (1)
==============================  =====================  ======================

The buildings seen by few channels gained: 2 channels 56 -> 92 of 100 modes (10 min)
and 60 -> 99 (30 min), 3 channels 69 -> 97 and 75 -> 96, 4 channels 89 -> 95 and
94 -> 99; the other kinds changed by at most one mode.  With 8 and 16 channels the
30-min records lose nothing at 0.6 periods (400 of 400 building modes), while 1.2 would
cost time (the 16-channel record of ``benchmarks/modal.py``: ``i`` 52 -> 103, 0.21 ->
0.35 s); 1.0, 1.5 and 2.0 periods for every count found as many modes as 1.2 within
10 of 1,651.

References
----------
Welch (1967), The use of fast Fourier transform for the estimation of power spectra,
    IEEE Trans. Audio Electroacoust. 15(2), 70-73.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import scipy.fft
import scipy.signal

__all__ = ["FEW_CHANNELS", "FEW_CHANNEL_PERIODS", "LOWEST_MODE_PERIODS", "MIN_PERIODS", "PEAK_PROMINENCE",
           "lag_rows_for", "lowest_peak_hz"]

#: the lag span 2 i / fs covers this many of the lowest mode's periods (0.15 Hz at 20 Hz:
#: i = 40, which found every mode of the example above) ...
LOWEST_MODE_PERIODS = 0.6
#: ... or this many with fewer than :data:`FEW_CHANNELS` channels ("Few channels" above)
FEW_CHANNEL_PERIODS = 1.2
FEW_CHANNELS = 8
#: a spectral peak stands this many times above its neighbouring minima
PEAK_PROMINENCE = 4.0
#: and the record holds at least this many of its periods
MIN_PERIODS = 100
#: Welch segments of about this many seconds (a power of two samples)
SEGMENT_S = 40.0
#: standardisation from at most this many seconds of the record's start
_HEAD_S = 60.0


def lag_rows_for(lowest_hz: float, fs_hz: float, n_channels: int = FEW_CHANNELS) -> int:
    """Block rows whose lag span ``2 i / fs`` covers :data:`LOWEST_MODE_PERIODS` of a
    period of ``lowest_hz`` (:data:`FEW_CHANNEL_PERIODS` periods for fewer than
    :data:`FEW_CHANNELS` channels)."""
    if not (math.isfinite(lowest_hz) and lowest_hz > 0):
        raise ValueError(f"lowest_hz must be finite and > 0, got {lowest_hz!r}")
    periods = FEW_CHANNEL_PERIODS if n_channels < FEW_CHANNELS else LOWEST_MODE_PERIODS
    return int(math.ceil(periods * fs_hz / (2.0 * lowest_hz)))


def lowest_peak_hz(x: npt.ArrayLike, fs_hz: float) -> float | None:
    """Frequency of the lowest prominent peak of the record's spectrum (module docstring),
    or None (no such peak: white noise, too short a record).

    ``x`` is (n_samples, n_channels); it is not modified.
    """
    a = np.asarray(x, dtype=np.float64)
    n, m = a.shape
    nper = int(min(n // 8, 2 ** math.ceil(math.log2(max(SEGMENT_S * fs_hz, 16)))))
    if nper < 16:
        return None
    head = a[: max(2, min(n, int(_HEAD_S * fs_hz)))]
    std = head.std(axis=0)
    std[~(std > 0)] = np.inf  # a flat channel adds nothing
    weights = np.random.default_rng(0).choice([-1.0, 1.0], size=(m, 2)) / std[:, None]
    mix = np.ascontiguousarray((a @ weights).T)  # (2, n)
    seg = np.lib.stride_tricks.sliding_window_view(mix, nper, axis=-1)[:, :: nper // 2]
    window = scipy.signal.get_window("hann", nper)
    spec = np.abs(scipy.fft.rfft((seg - seg.mean(axis=-1, keepdims=True)) * window, axis=-1)) ** 2
    power = spec.mean(axis=1)  # (2, nper // 2 + 1)
    total = power.sum(axis=1, keepdims=True)
    if not np.all(total > 0):
        return None
    shape = (power / total).mean(axis=0)
    freqs = np.fft.rfftfreq(nper, 1.0 / fs_hz)
    with np.errstate(divide="ignore"):
        peaks, _ = scipy.signal.find_peaks(np.log(shape), prominence=math.log(PEAK_PROMINENCE))
    peaks = peaks[freqs[peaks] >= max(2.0 * fs_hz / nper, MIN_PERIODS * fs_hz / n)]
    return float(freqs[peaks[0]]) if peaks.size else None
