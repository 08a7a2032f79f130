"""Streaming IIR filters for multichannel blocks.

:class:`SosFilter` runs a cascade of second-order sections (``scipy.signal`` ``sos``
layout: rows ``b0 b1 b2 a0 a1 a2``) in transposed direct form II -- the same recurrence
as :func:`scipy.signal.sosfilt` -- over every channel of a block of shape
``(n_channels, n)``, keeping each channel's state between calls. So filtering a record
block by block gives exactly what one call on the whole record gives, whatever the cut.

Each channel is multiplied by ``scale`` (e.g. ``1 / sensitivity`` for counts) before
filtering; input may be float32, float64 or int32 and is converted exactly to float64;
the input array is never modified. With ``steady_start`` the state is primed from the
first sample as if the filter had seen that value forever (``scipy.signal.sosfilt_zi``),
so a sensor offset gives no start-up transient.

The module imports only NumPy, SciPy and the compiled kernel ``_filters``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.signal import sosfilt_zi

from ._filters import SosFilter as _SosFilter

__all__ = ["SosFilter", "sos_filter"]

SosFilter = _SosFilter


def sos_filter(sos: npt.ArrayLike, n_channels: int, *, scale: npt.ArrayLike | None = None, steady_start: bool = True) -> _SosFilter:
    """A :class:`SosFilter` for ``n_channels`` channels.

    Parameters
    ----------
    sos : array_like, shape (n_sections, 6)
        Second-order sections as returned by ``scipy.signal.butter(..., output="sos")``.
    n_channels : int
        Rows of every block, >= 1.
    scale : array_like, shape (n_channels,), optional
        Factor applied to each channel before filtering (default 1).
    steady_start : bool, default True
        Prime the state from the first sample of the first block (no start-up transient);
        otherwise start from rest (zero state), as ``scipy.signal.sosfilt`` does without ``zi``.
    """
    arr = np.asarray(sos, dtype=np.float64)
    zi = sosfilt_zi(arr) if steady_start else None
    return _SosFilter(arr, n_channels, scale, zi)
