"""The modal amplitude significance test and the record-length cap on block rows.

Truths used: for a statistic linear in the data, the delete-one jackknife variance of
the mean over ``B`` blocks is the sample variance of the per-block values over ``B``
(Efron & Tibshirani 1993, sec. 11.5), here checked against per-block least squares by
SciPy; white noise has no modes; a record generated from exact modal oscillators has
exactly its model's modes (``ext/synthetic.py``).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import scipy.stats

from quakewatch.ext.modal import default_block_rows, identify
from quakewatch.ext.modal_significance import BLOCK_LAG_RATIO, amplitude_significance, jackknife_block_rows
from quakewatch.ext.stabilisation import SelectionOptions
from quakewatch.ext.synthetic import AmbientVibration, ModalModel

pytestmark = pytest.mark.reference
DEFAULT = SelectionOptions()


def _modal_correlations(lags: int, fs: float, f: np.ndarray, xi: np.ndarray, phi: np.ndarray,
                        part: np.ndarray) -> np.ndarray:
    """``R_k = sum_j 2 Re(phi_j lambda_j^k L_j^T)`` for k = 0..lags-1, written with cos and sin."""
    k = np.arange(lags)[:, None] / fs
    w = 2 * np.pi * f
    wd = w * np.sqrt(1 - xi**2)
    env = np.exp(-xi * w * k)  # (lags, J)
    out = np.zeros((lags, phi.shape[1], part.shape[1]))
    for j in range(f.size):
        a = np.outer(phi[j], part[j])  # complex (m, n_r)
        out += 2 * (env[:, j] * np.cos(wd[j] * k[:, 0]))[:, None, None] * a.real[None]
        out -= 2 * (env[:, j] * np.sin(wd[j] * k[:, 0]))[:, None, None] * a.imag[None]
    return out


def test_t_is_the_amplitude_over_the_standard_error_of_the_block_means():
    rng = np.random.default_rng(3)
    fs, lags, m, n_r, b = 50.0, 60, 3, 2, 12
    f, xi = np.array([2.0, 5.5]), np.array([0.02, 0.03])
    phi = rng.standard_normal((2, m)) + 1j * rng.standard_normal((2, m))
    part = rng.standard_normal((2, n_r)) + 1j * rng.standard_normal((2, n_r))
    truth = _modal_correlations(lags, fs, f, xi, phi, part)
    per_block = truth[None] + 0.05 * rng.standard_normal((b, lags, m, n_r))
    full = per_block.mean(axis=0)
    delete_one = (b * full[None] - per_block) / (b - 1)
    sig = amplitude_significance(full, delete_one, f, xi, phi, fs)

    # independently: each block's participation vectors by SciPy's least squares on the
    # cos/sin templates, each mode's contribution to the correlations, its projection on
    # the record's contribution and the standard error of the block mean
    def participation(corr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        cols = []
        for j in range(f.size):
            for z in (1.0, 1j):
                unit = np.zeros((f.size, 1), complex)
                unit[j] = z
                cols.append(_modal_correlations(lags, fs, f, xi, phi, unit)[1:, :, 0].ravel())
        design = np.array(cols).T
        sol = scipy.linalg.lstsq(design, corr[1:].reshape(-1, n_r))[0]
        contrib = [design[:, 2 * j:2 * j + 2] @ sol[2 * j:2 * j + 2] for j in range(f.size)]
        return sol[0::2] + 1j * sol[1::2], np.array(contrib)  # (J, n_r), (J, lags x m, n_r)

    rec, rec_c = participation(full)
    blocks = np.array([participation(c)[1] for c in per_block])
    for j in range(f.size):
        u = rec_c[j].ravel() / np.linalg.norm(rec_c[j])
        proj = blocks[:, j].reshape(b, -1) @ u
        expected = np.linalg.norm(rec_c[j]) / (proj.std(ddof=1) / np.sqrt(b))
        assert sig.t[j] == pytest.approx(expected, rel=1e-9)
        # the sign test counts the blocks whose own contribution points the record's way
        assert sig.sign_p[j] == pytest.approx(scipy.stats.binomtest(int((proj > 0).sum()), b, 0.5,
                                                                    alternative="greater").pvalue, rel=1e-9)
    # the record's participation is the truth within the noise
    np.testing.assert_allclose(rec, part, atol=0.05)


def test_edge_cases():
    full = np.zeros((10, 1, 1))
    blocks = np.zeros((5, 10, 1, 1))
    none = amplitude_significance(full, blocks, [], [], np.zeros((0, 1)), 10.0)
    assert none.t.shape == none.sign_p.shape == (0,)
    absent = amplitude_significance(full, blocks, [1.0], [0.02], [[1.0]], 10.0)  # nothing to fit
    assert absent.t[0] == 0.0 and absent.sign_p[0] == 1.0
    exact = _modal_correlations(10, 10.0, np.array([1.0]), np.array([0.02]), np.ones((1, 1), complex),
                                np.ones((1, 1), complex))
    same = amplitude_significance(exact, np.repeat(exact[None], 5, axis=0), [1.0], [0.02], [[1.0]], 10.0)
    assert same.t[0] == np.inf and same.sign_p[0] == pytest.approx(0.5**5)
    nan = exact.copy()
    nan[3] = np.nan
    bad = amplitude_significance(nan, np.repeat(exact[None], 5, axis=0), [1.0], [0.02], [[1.0]], 10.0)
    assert np.isnan(bad.t[0]) and bad.sign_p[0] == 1.0
    with pytest.raises(ValueError, match=">= 3 delete-one blocks"):
        amplitude_significance(exact, exact[None], [1.0], [0.02], [[1.0]], 10.0)


def test_block_rows_follow_the_jackknife_blocks_of_a_short_record():
    # one channel asks for i = 101 (order 100); 100 s at 20 Hz in 20 blocks carries 25
    assert default_block_rows(1, 1, 20.0, 100) == 101
    assert jackknife_block_rows(2000, 20) == 100 // (2 * BLOCK_LAG_RATIO) == 25
    assert default_block_rows(1, 1, 20.0, 100, n_samples=2000, n_blocks=20) == 25
    # never below the default lag span; no cut without a jackknife or for a long record
    assert default_block_rows(16, 16, 100.0, 100, n_samples=50, n_blocks=20) == 50
    assert default_block_rows(1, 1, 20.0, 100, n_samples=2000, n_blocks=1) == 101
    assert default_block_rows(16, 16, 100.0, 100, n_samples=180000, n_blocks=20) == \
        default_block_rows(16, 16, 100.0, 100)


def test_single_channel_white_noise_reports_no_modes():
    # before the test: 3.7 modes per record (73 in 20 records), t <= 6.7
    reported, rejected = 0, 0
    for seed in range(12):
        res = identify(np.random.default_rng(seed).standard_normal((12000, 1)), 20.0)
        reported += res.n_modes
        rejected += len(res.provenance["rejected_insignificant"])
        assert all(r["amplitude_t"] < DEFAULT.min_amplitude_t and r["sign_p"] > DEFAULT.max_sign_p
                   for r in res.provenance["rejected_insignificant"])
    assert reported <= 1, reported
    assert rejected >= 12  # the noise poles were there, and were dropped by the test


def test_single_channel_modes_are_kept():
    # three modes seen by one accelerometer, 30 min at 20 Hz, 10 % measurement noise (over
    # 10 min the 0.8 Hz mode, the weakest in acceleration, has t = 4.8-6.0): the test
    # drops no mode the identification found without it, and every mode it keeps is true
    model = ModalModel(np.array([0.8, 2.6, 4.9]), np.array([0.02, 0.02, 0.03]), np.ones((1, 3)))
    found = 0
    for seed in range(3):
        y = AmbientVibration(model, 20.0, seed=seed, noise_rms_mps2=0.0).next_block(36000).T
        y = np.ascontiguousarray(y + 0.1 * y.std() * np.random.default_rng([seed, 1]).standard_normal(y.shape))
        res = identify(y, 20.0)
        plain = identify(y, 20.0, selection=SelectionOptions(min_amplitude_t=0.0, max_sign_p=1.0))

        def true_modes(f: np.ndarray) -> set[int]:
            return {int(np.argmin(np.abs(model.frequencies_hz - x))) for x in f
                    if np.min(np.abs(model.frequencies_hz - x) / model.frequencies_hz) < 0.02}

        assert true_modes(res.frequencies_hz) == true_modes(plain.frequencies_hz)
        assert len(true_modes(res.frequencies_hz)) == res.n_modes, res.frequencies_hz
        assert all(t >= DEFAULT.min_amplitude_t or p <= DEFAULT.max_sign_p
                   for t, p in zip(res.provenance["amplitude_t"], res.provenance["sign_p"]))
        found += res.n_modes
    assert found >= 8  # of 9 (one record splits the 2.6 Hz mode into two unstable clusters)


def test_short_multichannel_windows_lose_their_noise_modes_not_their_modes():
    # 4 channels, 60 s at 100 Hz, 5 % noise (the health e2e tower): within 3-s jackknife
    # blocks a 2 Hz mode's amplitude is as random as its excitation, so t saturates near
    # sqrt(B); the sign test keeps such modes.  Without the test: 27 extra modes in 40
    # windows; with it: none, 117 of the 120 modes kept
    h = np.array([1.0, 2.0, 3.0, 4.0])
    shapes = np.stack([np.sin((2 * k - 1) * np.pi * h / 9.0) for k in (1, 2, 3)], axis=1)
    model = ModalModel(np.array([2.0, 5.9, 9.5]), np.full(3, 0.02), shapes / np.abs(shapes).max(axis=0))
    found = extra = 0
    for seed in range(12):
        y = AmbientVibration(model, 100.0, seed=seed, noise_rms_mps2=0.0).next_block(6000).T
        y = np.ascontiguousarray(y + 0.05 * y.std(axis=0) * np.random.default_rng([seed, 1]).standard_normal(y.shape))
        res = identify(y, 100.0, max_order=40)
        near = [np.min(np.abs(model.frequencies_hz - f) / model.frequencies_hz) < 0.02 for f in res.frequencies_hz]
        found += sum(near)
        extra += res.n_modes - sum(near)
    assert extra == 0
    assert found >= 34  # of 36
