"""Frequency domain decomposition (FDD) and enhanced FDD (EFDD), from accumulated
output covariances: a second identification method, independent of SSI-cov.

Spectral matrix
    ``G(f) = sum_(|k| <= L) w_k R_k exp(-2 pi i f k dt)`` with ``R_-k = R_k^T`` and a
    Hann lag window ``w_k = (1 + cos(pi k / L)) / 2`` (Blackman-Tukey correlogram;
    Bendat & Piersol, Random Data, 4th ed., sec. 11.6).  All channels must be
    references (``R_k`` square).
FDD (Brincker, Zhang & Andersen 2001)
    Eigen-decomposition of the Hermitian ``G(f)`` at every frequency: the first singular
    value ``s1(f)`` peaks at the modes and the first singular vector there is the mode
    shape.  Peaks are picked automatically: local maxima of ``s1`` in decibels with at
    least ``min_prominence_db`` prominence whose first singular vector stays coherent
    (MAC >= ``bell_mac``) over at least ``min_bell_bins`` bins (a noise peak does not).
EFDD (Brincker, Ventura & Andersen 2001)
    The SDOF bell of each peak (bins around it whose first singular vector has MAC >=
    ``bell_mac`` with the peak's) is taken back to the time domain by an inverse FFT;
    the lag window is divided out; the natural frequency follows from a linear fit of
    the zero-crossing times, the damping from the logarithmic decrement of the extrema
    between ``env_hi`` and ``env_lo`` of the initial value:
    ``xi = delta / sqrt(4 pi^2 + delta^2)``, ``f_n = f_d / sqrt(1 - xi^2)``.

References
----------
Brincker, Zhang & Andersen (2001), Modal identification of output-only systems using
    frequency domain decomposition, Smart Mater. Struct. 10(3), 441-445.
Brincker, Ventura & Andersen (2001), Damping estimation by frequency domain
    decomposition, Proc. 19th IMAC, 698-703.
Bendat & Piersol (2010), Random Data: Analysis and Measurement Procedures, 4th ed., Wiley.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import scipy.fft
import scipy.signal

from .stabilisation import mac_matrix

if TYPE_CHECKING:
    from .modal import ModalResult

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class FddOptions:
    min_prominence_db: float = 3.0
    bell_mac: float = 0.8
    min_bell_bins: int = 3
    env_hi: float = 0.9
    env_lo: float = 0.1
    harmonic_damping: float = 0.001


@dataclass(frozen=True, eq=False)
class FddResult:
    """Peaks of the first singular value and their EFDD estimates (sorted by frequency)."""

    frequencies_hz: FloatArray
    damping_ratios: FloatArray
    mode_shapes: npt.NDArray[np.complex128]  # (n_channels, n_peaks), unit norm
    peak_frequencies_hz: FloatArray  # FDD: the spectral line of each peak
    harmonic: npt.NDArray[np.bool_]
    spectrum_hz: FloatArray  # frequency axis of the singular values
    singular_values: FloatArray  # (n_freq, n_channels), descending


def spectral_matrix(cov: FloatArray, fs_hz: float, n_fft: int | None = None) -> tuple[FloatArray, npt.NDArray[np.complex128]]:
    """Frequencies and Hermitian spectral matrices ``G(f)`` (n_freq, m, m) from ``R_0..R_L``."""
    lag1, m, n_r = cov.shape
    if m != n_r:
        raise ValueError(f"FDD needs every channel as a reference: covariances are {m} x {n_r}")
    L = lag1 - 1
    n = n_fft or scipy.fft.next_fast_len(4 * L, real=True)
    w = 0.5 * (1.0 + np.cos(np.pi * np.arange(lag1) / L))
    half = scipy.fft.rfft(cov * w[:, None, None], n=n, axis=0)  # sum_k w_k R_k e^{-iwk}
    g = half + np.conj(half.transpose(0, 2, 1)) - cov[0][None]  # + negative lags (R_-k = R_k^T)
    return scipy.fft.rfftfreq(n, 1.0 / fs_hz), g


def efdd(cov: FloatArray, fs_hz: float, opts: FddOptions | None = None,
         frequency_range_hz: tuple[float, float] | None = None) -> FddResult:
    """FDD peak picking and EFDD frequency and damping (see the module docstring)."""
    o = opts or FddOptions()
    lag1 = cov.shape[0]
    freqs, g = spectral_matrix(cov, fs_hz)
    vals, vecs = np.linalg.eigh(g)  # ascending; G is Hermitian positive semi-definite up to leakage
    s = np.maximum(vals[:, ::-1], 0.0)
    u1 = vecs[:, :, -1]
    db = 10 * np.log10(np.maximum(s[:, 0], s[:, 0].max() * 1e-16 if s[:, 0].max() > 0 else 1e-300))
    lo, hi = frequency_range_hz or (0.0, fs_hz / 2)
    peaks, _ = scipy.signal.find_peaks(db, prominence=o.min_prominence_db)
    peaks = [p for p in peaks if lo <= freqs[p] <= hi and freqs[p] > 0]
    out_f, out_d, out_s, out_p = [], [], [], []
    window = 0.5 * (1.0 + np.cos(np.pi * np.arange(lag1) / (lag1 - 1)))
    for p in peaks:
        mac = mac_matrix(u1[p], u1)[0]
        a, b = p, p
        while a > 0 and mac[a - 1] >= o.bell_mac:
            a -= 1
        while b < freqs.size - 1 and mac[b + 1] >= o.bell_mac:
            b += 1
        if b - a + 1 < o.min_bell_bins:
            continue
        bell = np.zeros(freqs.size)
        bell[a: b + 1] = s[a: b + 1, 0]
        r = scipy.fft.irfft(bell)[: lag1 - 1] / window[: lag1 - 1]
        est = _sdof(r, fs_hz, o)
        if est is None:
            continue
        out_f.append(est[0])
        out_d.append(est[1])
        out_s.append(u1[p] / np.linalg.norm(u1[p]))
        out_p.append(freqs[p])
    n = len(out_f)
    shapes = np.array(out_s).T if n else np.zeros((cov.shape[1], 0), np.complex128)
    d = np.array(out_d)
    return FddResult(np.array(out_f), d, shapes, np.array(out_p), d < o.harmonic_damping, freqs, s)


def _sdof(r: np.ndarray, fs_hz: float, o: FddOptions) -> tuple[float, float] | None:
    """Natural frequency and damping ratio of an SDOF correlation function ``r``."""
    if r[0] <= 0:
        return None
    r = r / r[0]
    # extrema (absolute) of the decaying cosine, between env_hi and env_lo of r(0)
    ext = np.flatnonzero((np.abs(r[1:-1]) >= np.abs(r[:-2])) & (np.abs(r[1:-1]) > np.abs(r[2:]))) + 1
    amp = np.abs(r[ext])
    below = np.flatnonzero(amp < o.env_lo)
    stop = below[0] if below.size else ext.size
    use = ext[:stop][amp[:stop] <= o.env_hi]
    if use.size < 3:
        use = ext[: max(3, stop)]
    if use.size < 3:
        return None
    k = np.arange(use.size)
    delta = -2.0 * np.polyfit(k, np.log(np.abs(r[use])), 1)[0]  # ln|r| falls delta per period (2 extrema)
    xi = delta / np.sqrt(4 * np.pi**2 + delta**2)
    # zero crossings (linear interpolation) up to the last extremum used
    end = use[-1]
    sign = np.signbit(r[: end + 1])
    z = np.flatnonzero(sign[1:] != sign[:-1])
    if z.size < 2:
        return None
    tz = (z + r[z] / (r[z] - r[z + 1])) / fs_hz
    fd = 1.0 / (2.0 * np.polyfit(np.arange(tz.size), tz, 1)[0])
    if not (np.isfinite(fd) and fd > 0 and np.isfinite(xi)):
        return None
    return float(fd / np.sqrt(max(1e-12, 1.0 - xi**2))), float(xi)


def identify_efdd(data: object, fs_hz: float, *, lag_s: float = 20.0,
                  frequency_range_hz: tuple[float, float] | None = None,
                  harmonic_damping: float = 0.001) -> "ModalResult":
    """:func:`quakewatch.ext.modal.identify` with ``method="efdd"``."""
    import math
    import time

    from .covariance import CorrelationSums, CovarianceAccumulator, accumulate_runs, finite_runs
    from .modal import ModalResult, StabilisationDiagram, live_channels
    from .ssi import mpc, normalise_shapes

    t0 = time.perf_counter()
    fs = float(fs_hz)
    if not (math.isfinite(fs) and fs > 0):
        raise ValueError(f"fs_hz must be finite and > 0, got {fs_hz!r}")
    if not (math.isfinite(lag_s) and lag_s > 0):
        raise ValueError(f"fdd_lag_s must be finite and > 0, got {lag_s!r}")
    if isinstance(data, CovarianceAccumulator):
        sums = data.sums()
    elif isinstance(data, CorrelationSums):
        sums = data
    else:
        x = np.asarray(data)
        if x.ndim != 2:
            raise ValueError(f"data must have shape (n_samples, n_channels), got {x.shape}")
        runs = finite_runs(x)  # rows with a NaN are gaps
        n = sum(b - a for a, b in runs)
        lag = min(int(round(lag_s * fs)), n // 10)
        if lag < 16:
            raise ValueError(f"data has {n} samples{' with every channel finite' if n < x.shape[0] else ''}; "
                             "EFDD needs at least 160")
        sums = accumulate_runs(x, runs, lag).sums()
    n_ch = sums.channel_sums.size
    if len(sums.ref_channels) != n_ch:
        raise ValueError("method='efdd' needs every channel as a reference (ref_channels=None)")
    std, live = live_channels(sums)
    dead = tuple(int(c) for c in np.flatnonzero(~live))
    cov = sums.covariances()[:, live][:, :, live] / np.outer(std[live], std[live])[None]
    res = efdd(cov, fs, FddOptions(harmonic_damping=harmonic_damping), frequency_range_hz) if live.any() else None
    k = 0 if res is None else res.frequencies_hz.size
    keep = np.zeros(k, dtype=bool) if res is None else ~res.harmonic
    shapes_c = np.full((n_ch, int(keep.sum())), np.nan + 0j)
    if res is not None and keep.any():
        shapes_c[live] = normalise_shapes((res.mode_shapes[:, keep] * std[live][:, None]).T).T
    real = shapes_c.real.copy()
    if real.size:
        real /= np.nanmax(np.abs(real), axis=0, keepdims=True)
    z = np.zeros(0)
    nan = np.full(int(keep.sum()), np.nan)
    diagram = StabilisationDiagram(np.zeros(0, np.int64), z, z, z, np.zeros(0, bool), np.zeros(0, np.intp))
    return ModalResult(
        frequencies_hz=res.frequencies_hz[keep] if res is not None else z,
        damping_ratios=res.damping_ratios[keep] if res is not None else z,
        std_frequencies_hz=nan, std_damping_ratios=nan.copy(), mode_shapes=real, complex_mode_shapes=shapes_c,
        mpc=mpc(np.nan_to_num(shapes_c.T)) if keep.any() else z, n_poles=np.zeros(int(keep.sum()), np.int64),
        harmonics_hz=res.frequencies_hz[~keep] if res is not None else z, dead_channels=dead, diagram=diagram,
        provenance={"method": "efdd", "references": ["Brincker, Zhang & Andersen 2001", "Brincker, Ventura & Andersen 2001"],
                    "fs_hz": fs, "n_samples": int(sums.n_samples), "gaps": max(0, sums.n_runs - 1), "n_channels": n_ch,
                    "lags": int(sums.sums.shape[0] - 1),
                    "dead_channels": list(dead), "seconds": {"identification": time.perf_counter() - t0}})
