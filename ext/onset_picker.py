"""Phase onset times from the Akaike information criterion, with an uncertainty.

A window ``x[0:n]`` that holds noise, then signal, is modelled as two stationary
Gaussian segments with an unknown change point ``k`` [Maeda1985]_.  For one
component, minus twice the profile log-likelihood of ``k`` is, up to a constant,

    AIC(k) = k log var(x[:k]) + (n - k - 1) log var(x[k:])          (Maeda 1985, eq. 1)

(:func:`quakewatch.ext.trigger.aic_simple`, ObsPy's ``aic_simple``).  Components of
one sensor are independent given ``k``, so their AIC curves add [LMB2000]_: a
three-component pick uses the P energy wherever the radiation pattern put it.

The onset is the minimum of the summed curve.  Its uncertainty follows from the same
likelihood: ``w_k = exp(-(AIC(k) - AIC_min) / 2)`` are the relative likelihoods of the
change points (Akaike weights, [BA2002]_ sec. 2.9); the standard deviation of ``k``
under those weights, floored at the quantisation ``1 / sqrt(12)`` sample, is the pick's
1-sigma.  The weights are exact for the two-segment Gaussian model; an emergent onset
(a rise slower than the noise level) widens them, as it should.

Quality: ``snr`` is the RMS of the ``snr_window`` samples after the onset over the RMS
of those before it (all components together); a pick whose SNR is below what the caller
needs, or whose minimum lies at the window's edge, is the caller's to reject
(:attr:`Onset.at_edge`).

Kernel only: plain arrays in, a small frozen result out; inputs are never modified.

References
----------
.. [Maeda1985] Maeda, N. (1985). A method for reading and checking phase times in
   autoprocessing system of seismic wave data. Zisin 38, 365-379.
.. [LMB2000] Leonard, M. (2000). Comparison of manual and automatic onset time picking.
   Bull. Seismol. Soc. Am. 90(6), 1384-1390.
.. [BA2002] Burnham, K. P. & Anderson, D. R. (2002). Model Selection and Multimodel
   Inference, 2nd ed., Springer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .trigger import aic_simple

__all__ = ["Onset", "pick_onset"]

FloatArray = npt.NDArray[np.float64]

_MIN_SAMPLES = 8  # fewer cannot hold two segments with a variance each
_QUANTISATION = 1.0 / math.sqrt(12.0)  # sd of a uniform rounding to the sample


@dataclass(frozen=True, slots=True)
class Onset:
    """A picked onset in a window.

    ``index`` is the first sample of the second segment (window samples);
    ``time_s = index / fs_hz`` relative to the window's first sample; ``sigma_s`` its
    1-sigma; ``snr`` the amplitude ratio after / before; ``at_edge`` True when the
    minimum lies within ``edge`` samples of either end (the onset may be outside).
    """

    index: int
    time_s: float
    sigma_s: float
    snr: float
    at_edge: bool


def _rows(data: npt.ArrayLike) -> FloatArray:
    x = np.asarray(data, dtype=np.float64)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2 or x.shape[0] < 1:
        raise ValueError(f"data: expected shape (n,) or (n_components, n), got {np.shape(data)}")
    if x.shape[1] < _MIN_SAMPLES:
        raise ValueError(f"data: at least {_MIN_SAMPLES} samples needed for an onset, got {x.shape[1]}")
    if not np.isfinite(x).all():
        raise ValueError("data: contains NaN or infinite samples")
    return x


def pick_onset(data: npt.ArrayLike, fs_hz: float, *, snr_window: int | None = None, edge: int = 2) -> Onset:
    """The AIC onset of a window, shape ``(n,)`` or ``(n_components, n)``.

    ``snr_window`` (samples, default ``n // 10`` but at least 4) sets the stretch on
    each side of the onset over which ``snr`` is measured.  A window with no signal
    at all (every component constant) has no onset: ``ValueError``.
    """
    if not (math.isfinite(fs_hz) and fs_hz > 0):
        raise ValueError(f"fs_hz: must be a positive number, got {fs_hz!r}")
    x = _rows(data)
    n = x.shape[1]
    live = x.std(axis=1) > 0
    if not live.any():
        raise ValueError("data: every component is constant; no onset can be picked")
    with np.errstate(divide="ignore", invalid="ignore"):
        aic = aic_simple(x[live]).sum(axis=0)
    # aic[j] splits before sample j + 1; the first and the last two values leave a
    # one-sample segment (its term dropped): they are not change points
    aic[0] = aic[n - 2] = aic[n - 1] = np.inf
    ok = np.isfinite(aic)
    if not ok.any():
        raise ValueError("data: no finite AIC value (constant segments on both sides)")
    aic = np.where(ok, aic, np.inf)
    k0 = int(np.argmin(aic))
    delta = aic - aic[k0]
    w = np.exp(-0.5 * np.minimum(delta, 1400.0))
    w /= w.sum()
    ks = np.arange(n, dtype=np.float64)
    mean = float(w @ ks)
    sd = math.sqrt(max(float(w @ (ks - mean) ** 2), 0.0))
    index = k0 + 1
    m = snr_window if snr_window is not None else max(4, n // 10)
    if m < 1:
        raise ValueError(f"snr_window: must be >= 1 sample, got {m}")
    before = x[:, max(0, index - m) : index]
    after = x[:, index : index + m]
    rms_b = math.sqrt(float(np.mean((before - before.mean(axis=1, keepdims=True)) ** 2))) if before.shape[1] > 1 else 0.0
    rms_a = math.sqrt(float(np.mean((after - after.mean(axis=1, keepdims=True)) ** 2))) if after.shape[1] > 1 else 0.0
    snr = rms_a / rms_b if rms_b > 0 else math.inf if rms_a > 0 else 0.0
    return Onset(index=index, time_s=index / fs_hz, sigma_s=max(sd, _QUANTISATION) / fs_hz, snr=snr,
                 at_edge=index <= edge or index >= n - edge)
