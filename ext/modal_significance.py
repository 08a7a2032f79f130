"""Is a mode's share of the output correlations larger than the record's sampling noise?

Stabilisation (frequency, damping, MAC and MPC across model orders) separates physical
poles from noise poles when the mode shapes carry information.  With one channel, or a
few, they carry little or none: MAC and MPC are 1 for every pole, and an SSI-cov model
of order 100 fits the random wiggles of a noisy correlation function with poles that are
as stable across orders as a structure's (white noise, one channel, 10 min at 20 Hz:
3.7 "modes" per record; four channels, 60 s at 100 Hz: 27 extra modes in 40 windows of a
3-mode tower).  Their jackknife frequency deviations do not expose them either: the
first-order jackknife follows the pole the record happened to form, it cannot see that
another record would put it elsewhere (a peak location is not a smooth statistic).

The test here asks a linear question the data can answer.  With every selected
cluster's pole ``lambda_j = exp(s_j / fs)`` and shape ``phi_j`` held fixed, the output
correlations of SSI-cov's model ``R_k = C A^(k-1) G`` (Peeters & De Roeck 1999) are
linear in the modal participation vectors ``L_j``:

    R_k = sum_j 2 Re(phi_j lambda_j^k L_j^T),      k = 1 .. lags - 1,

so the ``L_j``, and with them each mode's contribution ``c_j`` to the correlations, follow
from the record's correlations by linear least squares, and from every delete-one-block
set by the same solve.  For a linear statistic the delete-one jackknife is exact: its
variance is that of the mean of the ``B`` per-block values, and its pseudo-values
``B theta - (B - 1) theta_(-b)`` are those per-block values (Efron & Tibshirani 1993,
ch. 11).  Two readings of the projection of the sets' contributions on the record's,
``c_j^(-b) . c_j / |c_j|``:

* ``t_j = |c_j| / se_jk``: the contribution in standard errors.  A physical mode's grows
  with the square root of the record length, a noise pole's stays at the size of the
  largest of many random draws.  But when the blocks are shorter than a mode's
  correlation time ``1 / (2 pi f xi)`` its amplitude in each block is as random as its
  excitation and ``t`` saturates near ``sqrt(B)`` (4-ch tower, 3-s blocks: t ~ 5.4);
* the sign test: the binomial tail probability ``sign_p`` of as many positive per-block
  values under a fair coin.  A physical mode is in every block, however weakly excited;
  a noise pole is positive in some: of 238 noise poles of the cases below, 8-18 of 20 blocks
  but one (20 of 20), of 541 physical modes 531 in all 20.

``identify`` keeps a mode when ``t >= SelectionOptions.min_amplitude_t`` (6) or
``sign_p <= SelectionOptions.max_sign_p`` (1e-4: every one of 14 to 17 blocks, all but
one of 18 to 21, fewer from 22; with fewer than 14 blocks only ``t`` can pass).  One block may be
against a mode: excitation comes and goes (the first block of a record that starts at
rest held a 9.5-Hz mode's only negative value; with 1e-5 that window lost the mode).  Clusters whose templates the lags
cannot tell apart (a mode split into two clusters, a pole beside a mode of the same
shape) share their amplitude in whatever split the least squares picks; their summed
contribution is judged and credited to the strongest of them, the others stand alone.

Measured with these defaults (every pole the stabilisation kept, by case: physical
modes kept / found, noise poles kept / found): one channel, white noise 10 min at 20 Hz
(40 records) 3 / 148 noise poles, 30 min 0 / 12; two channels 0 / 5, four 0 / 3; the 4-channel tower
of the health tests, 60-s windows (70 + 30 records) 298 / 304 and 1 / 55 (the modes
dropped are halves of split clusters); one channel with three modes, 10 and 30 min at
20 Hz 42 / 43 and 39 / 39, 0 / 15; the roof channel of the 16-storey building, 10 min at
40 Hz 76 / 77; the 16-channel buildings of ``benchmarks/modal_accuracy.py``, 10 min,
78 / 78.

The jackknife is valid only while the blocks are long against the correlation lags they
share (a product ``y[t] y[t - k]`` belongs to the block of ``t``):
:func:`~quakewatch.ext.modal.default_block_rows` keeps the lag span at most half a
block (:func:`jackknife_block_rows`).

References
----------
Peeters & De Roeck (1999), Reference-based stochastic subspace identification for
    output-only modal analysis, Mech. Syst. Signal Process. 13(6), 855-878.
Efron & Tibshirani (1993), An Introduction to the Bootstrap, Chapman & Hall.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse
import scipy.sparse.csgraph
import scipy.stats

FloatArray = npt.NDArray[np.float64]

#: a jackknife block spans at least this many times the Toeplitz lag span ``2 i``
BLOCK_LAG_RATIO = 2
#: components whose templates overlap this much are judged together (squared cosine over
#: the lags and channels; equal shapes 5 % apart at 2 % damping over 1 s of lags at
#: 100 Hz: 0.97; orthogonal shapes: 0)
COLLINEAR_OVERLAP = 0.5


def jackknife_block_rows(n_samples: int, n_blocks: int) -> int:
    """Most block rows ``i`` for which each of ``n_blocks`` blocks of ``n_samples`` spans
    at least :data:`BLOCK_LAG_RATIO` times the lag span ``2 i`` (at least 2)."""
    return int(max(2, (n_samples // max(n_blocks, 1)) // (2 * BLOCK_LAG_RATIO)))


@dataclass(frozen=True)
class Significance:
    """Per mode: ``t`` (amplitude over its jackknife standard error) and ``sign_p`` (the
    binomial tail probability of as many positive per-block amplitudes under a fair
    coin)."""

    t: FloatArray
    sign_p: FloatArray


def amplitude_significance(full: FloatArray, blocks: FloatArray, frequencies_hz: npt.ArrayLike,
                           damping_ratios: npt.ArrayLike, shapes: npt.ArrayLike, fs_hz: float) -> Significance:
    """How far every mode's correlation amplitude stands above the sampling noise.

    Parameters
    ----------
    full : ndarray (lags, m, n_refs)
        The record's output correlations (lag 0 first), as identified.
    blocks : ndarray (B, lags, m, n_refs)
        The delete-one-block correlations, prepared the same way (B >= 3).
    frequencies_hz, damping_ratios : (J,)
        The modes (and any harmonic lines: every periodic or modal component of the
        correlations belongs in the fit, or it leaks into the others).
    shapes : (J, m) complex
        Mode shapes in the channel scaling of ``full``.
    fs_hz : float

    Returns
    -------
    Significance
        ``t``: ``inf`` when the blocks agree exactly, 0 for a mode absent from the fit,
        NaN when the least squares has no finite solution (``sign_p`` 1 then).
    """
    full = np.asarray(full, dtype=np.float64)
    blocks = np.asarray(blocks, dtype=np.float64)
    f = np.asarray(frequencies_hz, dtype=np.float64).ravel()
    xi = np.asarray(damping_ratios, dtype=np.float64).ravel()
    n_lags, m, n_r = full.shape
    phi = np.asarray(shapes, dtype=np.complex128).reshape(f.size, m)
    b_count = blocks.shape[0]
    if b_count < 3 or n_lags < 2:
        raise ValueError(f"amplitude_significance needs >= 3 delete-one blocks and >= 2 lags, got {b_count} and {n_lags}")
    if f.size == 0:
        return Significance(np.zeros(0), np.zeros(0))
    w = 2 * np.pi * f
    s = -xi * w + 1j * w * np.sqrt(np.maximum(1.0 - xi * xi, 0.0))
    k = np.arange(1, n_lags)
    # templates phi_j lambda_j^k, (lags - 1) x m per mode: columns Re and -Im, so that
    # 2 Re(t L) = Re(t) (2 Re L) - Im(t) (2 Im L)
    lam = np.exp(np.outer(k, s) / fs_hz)  # (lags - 1, J)
    tpl = lam[:, None, :] * phi.T[None, :, :]  # (lags - 1, m, J)
    design = np.concatenate([tpl.real, -tpl.imag], axis=2).reshape((n_lags - 1) * m, 2 * f.size)
    if not (np.all(np.isfinite(design)) and np.all(np.isfinite(full)) and np.all(np.isfinite(blocks))):
        return Significance(np.full(f.size, np.nan), np.ones(f.size))
    # normal equations, the record's and every set's right-hand sides side by side
    # (2J x (B + 1) n_refs): nothing the size of the correlations is copied
    gram = design.T @ design
    moment = np.empty((2 * f.size, b_count + 1, n_r))
    moment[:, 0] = design.T @ full[1:].reshape(-1, n_r)
    for b in range(b_count):
        moment[:, b + 1] = design.T @ blocks[b, 1:].reshape(-1, n_r)
    coef = np.linalg.lstsq(gram, moment.reshape(2 * f.size, -1), rcond=None)[0].reshape(moment.shape)

    def judge(members: np.ndarray) -> tuple[float, float]:
        # the members' summed contribution c = X_G beta_G to the correlations, of the
        # record and of every delete-one set, projected on the record's:
        # <c^(b), c^(0)> = sum over refs of beta_b^T (X_G^T X_G) beta_0
        cols = np.r_[members, f.size + members]
        beta = coef[cols]  # (2g, B + 1, n_refs)
        weighted = gram[np.ix_(cols, cols)] @ beta[:, 0]
        inner = np.einsum("pbr,pr->b", beta, weighted)  # the record's own first
        if not inner[0] > 0:
            return 0.0, 1.0
        norm = float(np.sqrt(inner[0]))
        proj = inner[1:] / norm
        se = np.sqrt((b_count - 1) / b_count * np.sum((proj - proj.mean()) ** 2))
        # pseudo-values B theta - (B - 1) theta_(-b): each block's own amplitude
        # (exactly: the statistic is linear)
        positive = int(np.sum(b_count * norm - (b_count - 1) * proj > 0))
        with np.errstate(divide="ignore"):
            return norm / se, float(scipy.stats.binom.sf(positive - 1, b_count, 0.5))

    single = np.array([judge(np.array([j])) for j in range(f.size)])
    t, sign_p = single[:, 0].copy(), single[:, 1].copy()
    # Components whose templates the lags cannot tell apart (a mode split into two
    # clusters, a pole beside a mode of the same shape) share their amplitude in whatever
    # split the least squares picks, so that alone each may look insignificant.  Their
    # summed contribution is judged instead and credited to the strongest of them; the
    # others stand on their own (a split mode is reported once, a pole beside a mode is
    # not carried by it).
    group = _overlap_groups(tpl.reshape(-1, f.size))
    for g in np.unique(group):
        members = np.flatnonzero(group == g)
        if members.size > 1:
            lead = members[np.argmax(np.nan_to_num(single[members, 0], nan=-1.0))]
            t_g, p_g = judge(members)
            t[lead], sign_p[lead] = max(t[lead], t_g), min(sign_p[lead], p_g)
    return Significance(t, sign_p)


def _overlap_groups(templates: npt.NDArray[np.complex128]) -> npt.NDArray[np.intp]:
    """Connected components of the components whose templates (columns) overlap by at
    least :data:`COLLINEAR_OVERLAP` (squared cosine)."""
    energy = np.einsum("nj,nj->j", np.conj(templates), templates).real
    with np.errstate(invalid="ignore", divide="ignore"):
        overlap = np.abs(np.conj(templates).T @ templates) ** 2 / np.outer(energy, energy)
    adjacency = scipy.sparse.csr_matrix(overlap >= COLLINEAR_OVERLAP)
    return scipy.sparse.csgraph.connected_components(adjacency, directed=False)[1].astype(np.intp)
