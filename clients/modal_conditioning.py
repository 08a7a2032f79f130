"""``quakewatch modal --highpass HZ --decimate Q``: conditioning a record before identification.

Real recordings are not the clean ambient response the identification models:

* **Drift.** A MEMS accelerometer's offset follows its temperature, and a logger's
  anti-alias chain may pass DC: a slow wander as large as the vibration is common.  It
  is a red-noise component many times the structure's response at the lowest lags, and
  SSI spends model order on it.  On 30-min records of shear buildings (10 modes, 10 %
  noise) a random-walk and linear drift with 10 times the vibration's RMS cost half the
  modes with 3 channels and 2-6 of 10 with 16; a zero-phase 4th-order Butterworth
  high-pass at 0.2 Hz (a third of the slowest mode) brought back all but 0-1 per record.
* **Rates far above the modes.** A bridge recorded at 1 kHz has its modes below 20 Hz:
  decimation keeps the lags' span with fewer rows and moves the poles away from
  ``z = 1``, where they crowd.

``--highpass HZ`` applies ``scipy.signal.sosfiltfilt`` with a 4th-order Butterworth
high-pass (zero phase: the filter's phase cannot shift one channel against another);
``--decimate Q`` applies ``scipy.signal.decimate`` with its FIR anti-alias filter
(zero phase), keeping every ``Q``-th sample of the original grid.  Both run on each
stretch between gaps separately, so nothing is filtered across a gap; a stretch
shorter than one period of the high-pass corner (or than ``Q`` samples) is dropped and
becomes part of the gap.  What was done is in the provenance (``input.conditioning``).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .modal import Record

#: order of the Butterworth high-pass
HIGHPASS_ORDER = 4
#: largest decimation factor accepted
MAX_DECIMATE = 1000


def condition(rec: Record, highpass_hz: float | None, decimate: int | None) -> Record:
    """``rec`` high-passed and/or decimated run by run (see the module docstring);
    ``rec`` itself when neither is asked for."""
    from scipy.signal import butter, decimate as decimated, sosfiltfilt

    from quakewatch.ext.covariance import finite_runs

    from .modal import UsageError

    if highpass_hz is None and decimate is None:
        return rec
    q = 1 if decimate is None else decimate
    if not 2 <= q <= MAX_DECIMATE and decimate is not None:
        raise UsageError(f"--decimate: a factor from 2 to {MAX_DECIMATE}, got {decimate}")
    fs = rec.fs_hz / q
    if highpass_hz is not None and not (math.isfinite(highpass_hz) and 0 < highpass_hz < fs / 2):
        raise UsageError(f"--highpass: a corner above 0 and below half the {'decimated ' if q > 1 else ''}sample rate "
                         f"({fs / 2:g} Hz), got {highpass_hz:g}")
    sos = None if highpass_hz is None else butter(HIGHPASS_ORDER, highpass_hz, "highpass", fs=rec.fs_hz, output="sos")
    shortest = max(q, 1 if highpass_hz is None else math.ceil(rec.fs_hz / highpass_hz))
    out = np.full((-(-rec.data.shape[0] // q), rec.data.shape[1]), np.nan)
    dropped = 0
    for a, b in finite_runs(rec.data):
        first = a + (-a) % q  # the first sample of the run on the decimated grid
        x = rec.data[first:b]
        if x.shape[0] < shortest:
            dropped += b - a
            continue
        if sos is not None:
            x = sosfiltfilt(sos, x, axis=0)
        if q > 1:
            x = decimated(x, q, ftype="fir", zero_phase=True, axis=0)
        out[first // q: first // q + x.shape[0]] = x
    done = {"highpass_hz": highpass_hz, "highpass": f"Butterworth order {HIGHPASS_ORDER}, zero phase (sosfiltfilt)"
            if sos is not None else None, "decimate": q if q > 1 else None, "fs_hz_before": rec.fs_hz,
            "samples_dropped": dropped}
    return replace(rec, data=out, fs_hz=fs, source={**rec.source, "conditioning": done})
