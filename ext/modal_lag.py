"""How many correlation lags SSI-cov needs: enough for the slowest mode.

The block Toeplitz matrix of SSI-cov holds the output correlations up to lag ``2 i``.  A
mode whose period is much longer than that span barely turns within it, and its poles
do not stabilise: 8 channels, 1 h at 20 Hz, modes at 0.15, 0.22, 0.41, 0.63, 0.9 and
1.3 Hz (1 % damping): with the fixed default span (``2 i / fs`` = 1.4 s) the two lowest
were missed in 3 of 3 records; with ``i`` = 40 (4 s) or more all six were found in 3 of 3.
Tall buildings, long bridges and towers have such fundamental modes (0.1-0.3 Hz).

So the span is made to cover :data:`LOWEST_MODE_PERIODS` of the period of the record's
lowest spectral peak (:func:`lowest_peak_hz`), when that is more than the default: the
peak is the lowest local maximum of the averaged, normalised Welch spectrum (Welch
1967; Hann windows, half overlap) of two random-sign mixes of the standardised channels
that stands :data:`PEAK_PROMINENCE` times above the lower of its neighbouring minima
(the prominence of ``scipy.signal.find_peaks``), at a frequency the record holds at
least :data:`MIN_PERIODS` periods of.  Two mixes instead of every channel: a mode is
in a mix unless its shape cancels in it, and the spectrum costs 7 ms instead of 150 ms
(16 channels, 30 min at 100 Hz).

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

__all__ = ["LOWEST_MODE_PERIODS", "MIN_PERIODS", "PEAK_PROMINENCE", "lag_rows_for", "lowest_peak_hz"]

#: the lag span 2 i / fs covers this fraction of the lowest mode's period (0.15 Hz at
#: 20 Hz: i = 40, which found every mode of the example above)
LOWEST_MODE_PERIODS = 0.6
#: a spectral peak stands this many times above its neighbouring minima
PEAK_PROMINENCE = 4.0
#: and the record holds at least this many of its periods
MIN_PERIODS = 100
#: Welch segments of about this many seconds (a power of two samples)
SEGMENT_S = 40.0
#: standardisation from at most this many seconds of the record's start
_HEAD_S = 60.0


def lag_rows_for(lowest_hz: float, fs_hz: float) -> int:
    """Block rows whose lag span ``2 i / fs`` covers :data:`LOWEST_MODE_PERIODS` of a
    period of ``lowest_hz``."""
    if not (math.isfinite(lowest_hz) and lowest_hz > 0):
        raise ValueError(f"lowest_hz must be finite and > 0, got {lowest_hz!r}")
    return int(math.ceil(LOWEST_MODE_PERIODS * fs_hz / (2.0 * lowest_hz)))


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
