"""Novelty detection on tracked modal features under environmental and operational
variability (EOV): normalisation, Hotelling T^2 index, threshold and control chart.

Input: one feature vector per identification window (e.g. the natural frequencies of the
tracked modes in Hz, every 30 min), NaN where a mode was not found, and optionally
covariates of the same windows (e.g. structural temperature in deg C).

Normalisation (the residual ``r`` of a window); ``auto`` = regression with covariates,
else PCA.
    ``regression`` [PDR2001]: each feature is fitted by least squares on
    ``b_0 + sum_c (b_c z_c + sum_k b_ck max(k - z_c, 0))``: linear in every covariate
    plus a hinge at each knot ``k`` (default 0 deg C: the Z24 bridge is roughly linear
    above freezing and much stiffer below). Each feature uses the training windows where
    it and the covariates are present. A hinge is kept only when ``max(10, 1 %)`` of
    them lie on each side of its knot, else it cannot be estimated and is dropped (the
    fit then extrapolates linearly: see ``extrapolated``). ``r = x - prediction``.
    ``pca`` [Yan2005]: features standardised with the training mean and standard
    deviation; the first ``q`` principal components of the training windows span the
    environmental subspace and ``r`` holds the scores on the other ``p - q``. ``q`` is
    given, or the smallest number explaining ``pca_variance`` (0.99) of the variance,
    capped at ``p - 1`` and at the number of components whose variance stands out of
    white noise at the 1 % level (Tracy-Widom test [Johnstone2001], sequential as in
    [KN2008]; none in a baseline without environmental structure: the features are then
    only standardised). A bilinear effect spans two components (one per branch); PCA
    cannot tell a change along the environmental directions (e.g. a uniform stiffness
    loss, which scales all frequencies like a warm spell) from the environment.

Index: Hotelling T^2 (squared Mahalanobis distance) of ``r`` from the location and
scatter of the training residuals [WMF2000]. ``trim = 0``: classical estimates; else
MCD-like: concentration steps [RVD1999] from the classical estimate keeping the
``n - floor(trim n)`` nearest windows until the kept set is stable, the consistency
factor of [CH1999], one reweighting step at the chi^2_d 97.5 % point. Started from the
classical estimate (not FAST-MCD's random subsets): it resists a few percent of bad
baseline windows (mis-tracked modes), not a contaminated majority.

Threshold (per window, false-alarm probability ``alpha``): ``empirical`` (default), the
``1 - alpha`` quantile of the training index. [WMF2000] take the threshold from the
index distribution under training conditions by Monte Carlo on Gaussian data; the
training index itself stays calibrated when residuals are not Gaussian (EOV misfit,
heavy-tailed estimation noise); needs ``n_train * alpha >= 5``. ``f``: the UCL of a
future observation, ``d (n + 1)(n - 1) / (n (n - d)) F_{1-alpha}(d, n - d)`` [TYM1992],
exact for Gaussian residuals with classical estimates, usable with few windows.

Control chart (index -> alarms; in-control alarm probability ``chart_alpha`` per scorable
window): ``count`` (default) is the number of the last ``k`` scorable windows above the
threshold; alarm at ``m``, the smallest count with ``P(Binomial(k, a) >= m) <=
chart_alpha``, ``a`` = max(alpha, training exceedance rate): an m-of-k run rule, so one
outlying window (a mis-tracked mode) cannot raise an alarm. ``mean`` is the mean index
of the last ``k`` scorable windows against the ``1 - chart_alpha`` quantile of the mean
of ``k`` independent draws from the training index, computed exactly by FFT convolution
of its histogram (values rounded up to the bin edge: conservative). Both assume
independent residuals once the EOV is removed; a misfit that leaves slow residual drift
(e.g. thermal lag behind the measured temperature) gives false-alarm episodes.

Missing data, complete-case scoring: a window with any missing feature (or covariate,
for regression) is not scorable (``index`` NaN, ``scorable`` False, ``feature_missing``
says which) and does not update the chart, whose statistic and alarm state carry
through it. Until ``k`` scorable windows are seen (``history`` continues a stream) the
chart is NaN and not in alarm. NaN never reaches an alarm decision.

References
----------
CH1999 : C. Croux, G. Haesbroeck, Influence function and efficiency of the minimum
    covariance determinant scatter matrix estimator, J. Multivariate Anal. 71, 161-190,
    1999 (consistency factor q / F_{chi2(d+2)}(chi2_{d,q})).
PDR2001 : B. Peeters, G. De Roeck, One-year monitoring of the Z24-Bridge: environmental
    effects versus damage events, Earthquake Eng. Struct. Dyn. 30, 149-171, 2001.
Johnstone2001 : I. M. Johnstone, On the distribution of the largest eigenvalue in principal
    components analysis, Ann. Statist. 29(2), 295-327, 2001.
KN2008 : S. Kritchman, B. Nadler, Determining the number of components in a factor model
    from limited noisy data, Chemometr. Intell. Lab. Syst. 94, 19-32, 2008.
RVD1999 : P. J. Rousseeuw, K. Van Driessen, A fast algorithm for the minimum covariance
    determinant estimator, Technometrics 41(3), 212-223, 1999 (C-steps, reweighting).
TYM1992 : N. D. Tracy, J. C. Young, R. L. Mason, Multivariate control charts for
    individual observations, J. Quality Technology 24(2), 88-95, 1992.
WMF2000 : K. Worden, G. Manson, N. R. J. Fieller, Damage detection using outlier
    analysis, J. Sound Vib. 229(3), 647-667, 2000.
Yan2005 : A.-M. Yan, G. Kerschen, P. De Boe, J.-C. Golinval, Structural damage diagnosis
    under varying environmental conditions - Part I: a linear analysis, Mech. Syst.
    Signal Process. 19, 847-864, 2005.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Final, TypeVar

import numpy as np
import numpy.typing as npt
from scipy import linalg, stats

__all__ = [
    "NOVELTY_ALGORITHM_VERSION",
    "Chart",
    "Method",
    "NoveltyModel",
    "NoveltyScores",
    "Threshold",
    "alarm_episodes",
    "fit_novelty",
]

#: Bump when any definition in the module docstring changes (goes into provenance).
NOVELTY_ALGORITHM_VERSION: Final = "1"

F64 = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
_MIN_TRAIN: Final = 50
_MAX_CSTEPS: Final = 50
_HIST_BINS: Final = 4096
_E = TypeVar("_E", bound=StrEnum)


class Method(StrEnum):
    AUTO = "auto"
    REGRESSION = "regression"
    PCA = "pca"


class Threshold(StrEnum):
    EMPIRICAL = "empirical"
    F = "f"


class Chart(StrEnum):
    COUNT = "count"
    MEAN = "mean"


@dataclass(frozen=True, slots=True, eq=False)
class NoveltyScores:
    """Scores of ``n`` windows. Arrays have shape ``(n,)`` unless stated."""

    index: F64  #: Hotelling T^2 per window; NaN where not scorable
    threshold: float  #: per-window threshold of ``index``
    exceeds: BoolArray  #: index > threshold (False where not scorable)
    chart: F64  #: chart statistic (count or mean over the last k scorable windows)
    chart_limit: float  #: alarm when chart >= chart_limit
    alarm: BoolArray  #: chart in alarm
    first_alarm: int | None  #: first window in alarm, None when none
    scorable: BoolArray  #: the window updated the chart
    feature_missing: BoolArray  #: (n, n_features) NaN feature
    #: covariates (regression) or environmental scores (PCA) outside the training range
    extrapolated: BoolArray
    residuals: F64  #: (n, n_residual) normalised residual vectors


@dataclass(frozen=True, slots=True, eq=False)
class NoveltyModel:
    """A fitted baseline; build with :func:`fit_novelty`, apply with :meth:`score`."""

    method: Method  #: REGRESSION or PCA (never AUTO)
    n_features: int
    n_covariates: int  #: 0 for PCA
    #: after the intercept: (covariate, None) linear, (covariate, knot) hinge max(knot - z, 0)
    basis_terms: tuple[tuple[int, float | None], ...]
    coefficients: F64  #: (1 + len(basis_terms), n_features) regression coefficients
    covariate_min: F64  #: (n_covariates,) training range
    covariate_max: F64
    feature_mean: F64  #: (n_features,) PCA standardisation
    feature_scale: F64
    loadings: F64  #: (n_features, n_features) PCA eigenvectors, columns by decreasing variance
    explained_variance_ratio: F64  #: (n_features,)
    n_components: int  #: environmental components removed (PCA)
    score_min: F64  #: (n_components,) training range of the environmental scores
    score_max: F64
    location: F64  #: (d,) location of the training residuals
    covariance: F64  #: (d, d) scatter of the training residuals
    cholesky: F64  #: (d, d) lower Cholesky factor of ``covariance``
    n_train: int  #: complete training windows behind location, covariance, threshold
    trim: float
    alpha: float
    threshold_rule: Threshold
    threshold: float
    train_exceed_rate: float  #: fraction of training windows above the threshold
    chart: Chart
    chart_window: int
    chart_alpha: float
    chart_limit: float

    def score(self, features: npt.ArrayLike, covariates: npt.ArrayLike | None = None, *,
              history: npt.ArrayLike | None = None) -> NoveltyScores:
        """Score windows against the baseline.

        Parameters
        ----------
        features : (n, n_features) array, NaN for a missing mode.
        covariates : (n, n_covariates) or (n,) array; required by regression, refused by PCA.
        history : 1-D array of the ``index`` of the scorable windows preceding this batch
            (e.g. ``prev.index[prev.scorable]``); its last ``k - 1`` values seed the chart,
            so that a stream scored in pieces gives the same chart as one batch.
        """
        x = _matrix(features, "features")
        if x.shape[1] != self.n_features:
            raise ValueError(f"features: expected {self.n_features} columns, got {x.shape[1]}")
        z = None
        if self.method is Method.REGRESSION:
            if covariates is None:
                raise ValueError("covariates: required by a regression model")
            z = _matrix(covariates, "covariates", rows=x.shape[0])
            if z.shape[1] != self.n_covariates:
                raise ValueError(f"covariates: expected {self.n_covariates} columns, got {z.shape[1]}")
        elif covariates is not None:
            raise ValueError("covariates: a PCA model takes none")
        hist = np.empty(0) if history is None else np.array(history, dtype=np.float64).ravel()
        if not np.all(np.isfinite(hist)):
            raise ValueError("history: must be finite (indices of scorable windows)")
        r, env = _residuals(self, x, z)
        scorable = np.all(np.isfinite(r), axis=1)
        index = np.full(x.shape[0], np.nan)
        index[scorable] = _mahal2(r[scorable], self.location, self.cholesky)
        exceeds = np.zeros(x.shape[0], dtype=bool)
        exceeds[scorable] = index[scorable] > self.threshold
        k = self.chart_window
        seq = np.concatenate([hist[len(hist) - min(len(hist), k - 1):], index[scorable]])
        if self.chart is Chart.COUNT:
            seq = (seq > self.threshold).astype(np.float64)
        n_new = int(scorable.sum())
        # each window summed on its own (not a cumsum): bitwise the same however the stream is cut
        sums = np.lib.stride_tricks.sliding_window_view(seq, k).sum(axis=1) if len(seq) >= k else np.empty(0)
        stat = np.concatenate([np.full(n_new - len(sums), np.nan), sums])  # len(sums) <= n_new
        if self.chart is Chart.MEAN:
            stat = stat / k
        chart = np.full(x.shape[0], np.nan)
        chart[scorable] = stat
        # carry the chart state through windows that could not update it
        last = np.maximum.accumulate(np.where(scorable, np.arange(x.shape[0]), -1))
        chart = np.where(last >= 0, chart[np.maximum(last, 0)], np.nan)
        alarm = np.isfinite(chart) & (chart >= self.chart_limit)  # NaN compares False
        hits = np.flatnonzero(alarm)
        if self.method is Method.REGRESSION:
            assert z is not None
            lo, hi = self.covariate_min, self.covariate_max
            extrap = np.any((z < lo) | (z > hi), axis=1)
        else:
            extrap = np.any((env < self.score_min) | (env > self.score_max), axis=1)
        return NoveltyScores(index=index, threshold=self.threshold, exceeds=exceeds, chart=chart,
                             chart_limit=self.chart_limit, alarm=alarm,
                             first_alarm=int(hits[0]) if hits.size else None, scorable=scorable,
                             feature_missing=np.isnan(x), extrapolated=extrap, residuals=r)


def fit_novelty(features: npt.ArrayLike, covariates: npt.ArrayLike | None = None, *,
                method: Method | str = "auto", knots: Sequence[float] = (0.0,),
                n_components: int | None = None, pca_variance: float = 0.99,
                trim: float = 0.1, alpha: float = 0.01, threshold: Threshold | str = "empirical",
                chart: Chart | str = "count", chart_window: int = 12,
                chart_alpha: float = 1e-4) -> NoveltyModel:
    """Fit the baseline on training windows (see the module docstring for definitions).

    Parameters
    ----------
    features : (n, n_features) array, e.g. natural frequencies in Hz; NaN = missing mode.
    covariates : (n, n_covariates) or (n,) array, e.g. temperature in deg C; NaN = missing.
    method : "auto", "regression" or "pca".
    knots : hinge locations applied to every covariate (regression), in its unit.
    n_components, pca_variance : environmental subspace size, or the variance rule (PCA).
    trim : fraction trimmed by the robust scatter, in [0, 0.5); 0 = classical.
    alpha : per-window false-alarm probability of the threshold, in (0, 0.5).
    threshold : "empirical" or "f".
    chart, chart_window, chart_alpha : control chart, its window k (12 = 6 h of 30-min
        windows) and in-control alarm probability per scorable window.
    """
    x = _matrix(features, "features")
    meth = _enum(Method, method, "method")
    thr_rule = _enum(Threshold, threshold, "threshold")
    chart_kind = _enum(Chart, chart, "chart")
    if not 0.0 < alpha < 0.5:
        raise ValueError(f"alpha: must be in (0, 0.5), got {alpha}")
    if not 0.0 <= trim < 0.5:
        raise ValueError(f"trim: must be in [0, 0.5), got {trim}")
    if not (_is_int(chart_window) and 1 <= chart_window <= 10_000):
        raise ValueError(f"chart_window: must be an int in [1, 10000], got {chart_window!r}")
    if not 0.0 < chart_alpha < 1.0:
        raise ValueError(f"chart_alpha: must be in (0, 1), got {chart_alpha}")
    if meth is Method.AUTO:
        meth = Method.PCA if covariates is None else Method.REGRESSION
    empty, p = np.empty(0), x.shape[1]
    model = NoveltyModel(method=meth, n_features=p, n_covariates=0, basis_terms=(),
                         coefficients=np.empty((0, p)), covariate_min=empty, covariate_max=empty,
                         feature_mean=empty, feature_scale=empty, loadings=np.empty((0, 0)),
                         explained_variance_ratio=empty, n_components=0, score_min=empty,
                         score_max=empty, location=empty, covariance=empty, cholesky=empty,
                         n_train=0, trim=trim, alpha=alpha, threshold_rule=thr_rule,
                         threshold=math.nan, train_exceed_rate=math.nan, chart=chart_kind,
                         chart_window=int(chart_window), chart_alpha=chart_alpha, chart_limit=math.nan)
    z = None
    if meth is Method.REGRESSION:
        if covariates is None:
            raise ValueError("covariates: method='regression' needs covariates")
        z = _matrix(covariates, "covariates", rows=x.shape[0])
        model = _fit_regression(model, x, z, knots)
    else:
        if covariates is not None:
            raise ValueError("covariates: method='pca' takes none (use 'regression' or 'auto')")
        model = _fit_pca(model, x, n_components, pca_variance)
    r, env = _residuals(model, x, z)
    complete = np.all(np.isfinite(r), axis=1)
    r, env = r[complete], env[complete]
    nt, d = r.shape
    if nt < max(_MIN_TRAIN, 10 * d):
        raise ValueError(f"features: need >= {max(_MIN_TRAIN, 10 * d)} complete training windows, got {nt}")
    loc, cov = _robust_scatter(r, trim)
    w = np.linalg.eigvalsh(cov)
    if w[0] <= 1e-12 * w[-1]:
        raise ValueError("features: training residual covariance is singular "
                         "(constant or collinear features)")
    chol = linalg.cholesky(cov, lower=True)
    train_index = _mahal2(r, loc, chol)
    if thr_rule is Threshold.EMPIRICAL:
        if nt * alpha < 5.0:
            raise ValueError(f"alpha: the empirical threshold needs n_train * alpha >= 5 (n_train={nt}, "
                             f"alpha={alpha}); train longer, raise alpha or use threshold='f'")
        thr = float(np.quantile(train_index, 1.0 - alpha))
    else:  # [TYM1992], UCL for a future observation
        thr = float(d * (nt + 1) * (nt - 1) / (nt * (nt - d)) * stats.f.ppf(1.0 - alpha, d, nt - d))
    rate = float(np.mean(train_index > thr))
    if chart_kind is Chart.COUNT:
        a = max(alpha, rate)
        counts = np.arange(1, chart_window + 1)
        ok = stats.binom.sf(counts - 1, chart_window, a) <= chart_alpha
        if not ok.any():
            raise ValueError(f"chart_alpha: {chart_alpha} is unreachable with chart_window={chart_window} "
                             f"and a per-window rate of {a:.3g}; lengthen chart_window")
        limit = float(counts[ok][0])
    else:
        limit = _mean_chart_limit(train_index, chart_window, chart_alpha)
    return replace(model, score_min=env.min(axis=0), score_max=env.max(axis=0), location=loc,
                   covariance=cov, cholesky=chol, n_train=nt, threshold=thr, train_exceed_rate=rate,
                   chart_limit=limit)


def _fit_regression(model: NoveltyModel, x: F64, z: F64, knots: Sequence[float]) -> NoveltyModel:
    ok_z = np.all(np.isfinite(z), axis=1)
    zt = z[ok_z]
    if zt.shape[0] < _MIN_TRAIN:
        raise ValueError(f"covariates: need >= {_MIN_TRAIN} windows with all covariates, got {zt.shape[0]}")
    side = max(10, math.ceil(0.01 * zt.shape[0]))  # windows needed on each side of a knot
    terms: list[tuple[int, float | None]] = []
    for c in range(z.shape[1]):
        terms.append((c, None))
        for k in knots:
            if not math.isfinite(k):
                raise ValueError(f"knots: must be finite, got {k}")
            if np.sum(zt[:, c] < k) >= side and np.sum(zt[:, c] > k) >= side:
                terms.append((c, float(k)))
    basis = _basis(z, tuple(terms))
    need = max(_MIN_TRAIN, 5 * basis.shape[1])
    coef = np.empty((basis.shape[1], x.shape[1]))
    for j in range(x.shape[1]):
        rows = ok_z & np.isfinite(x[:, j])
        if rows.sum() < need:
            raise ValueError(f"features: column {j} has {rows.sum()} usable training windows, need >= {need}")
        sol, _, rank, _ = np.linalg.lstsq(basis[rows], x[rows, j], rcond=None)
        if rank < basis.shape[1]:
            raise ValueError("covariates: regression basis is rank-deficient "
                             "(constant or collinear covariates)")
        coef[:, j] = sol
    return replace(model, n_covariates=z.shape[1], basis_terms=tuple(terms), coefficients=coef,
                   covariate_min=zt.min(axis=0), covariate_max=zt.max(axis=0))


def _fit_pca(model: NoveltyModel, x: F64, n_components: int | None, pca_variance: float) -> NoveltyModel:
    p = x.shape[1]
    if p < 2:
        raise ValueError(f"features: method='pca' needs >= 2 columns, got {p}")
    xt = x[np.all(np.isfinite(x), axis=1)]
    if xt.shape[0] < _MIN_TRAIN:
        raise ValueError(f"features: need >= {_MIN_TRAIN} complete training windows, got {xt.shape[0]}")
    mean, scale = xt.mean(axis=0), xt.std(axis=0, ddof=1)
    if np.any(scale <= 0.0):
        raise ValueError("features: a column is constant over the training windows")
    _, sv, vt = np.linalg.svd((xt - mean) / scale, full_matrices=False)
    ratio = sv**2 / np.sum(sv**2)
    if n_components is None:
        if not 0.0 < pca_variance < 1.0:
            raise ValueError(f"pca_variance: must be in (0, 1), got {pca_variance}")
        q = min(int(np.searchsorted(np.cumsum(ratio), pca_variance)) + 1, p - 1)
        # ... but only components that stand out of the estimation noise.  Without
        # environmental structure the 99 % rule would remove p - 1 noise directions at
        # random, and with them, in some baselines, the direction along which a uniform
        # stiffness loss moves the frequencies.
        q = min(q, _significant_components(sv**2 / (xt.shape[0] - 1), xt.shape[0]))
    elif not (_is_int(n_components) and 1 <= n_components <= p - 1):
        raise ValueError(f"n_components: must be an int in [1, {p - 1}], got {n_components!r}")
    else:
        q = int(n_components)
    return replace(model, feature_mean=mean, feature_scale=scale, loadings=vt.T,
                   explained_variance_ratio=ratio, n_components=q)


#: 99 % quantile of the Tracy-Widom (beta = 1) law of the largest eigenvalue [Johnstone2001]
_TW1_99 = 2.0234


def _significant_components(eigen: F64, n: int) -> int:
    """Leading eigenvalues (descending) of a sample covariance of ``n`` windows that
    stand out of white noise: sequentially, ``l_k`` against the largest eigenvalue of
    the remaining ``m = p - k`` dimensions under noise of their mean level, at the 1 %
    point of its Tracy-Widom law with Johnstone's centring ``(sqrt(n - 1/2) +
    sqrt(m - 1/2))^2 / n`` and scaling ``(sqrt(n - 1/2) + sqrt(m - 1/2))
    (1 / sqrt(n - 1/2) + 1 / sqrt(m - 1/2))^(1/3) / n`` [Johnstone2001] (the sequential
    test of Kritchman & Nadler 2008, with the remaining mean as the noise level)."""
    p, k = eigen.size, 0
    while k < p - 1:
        m = p - k
        sigma2 = float(np.mean(eigen[k:]))
        a = np.sqrt(n - 0.5) + np.sqrt(m - 0.5)
        centre = a * a / n
        scale = a * (1.0 / np.sqrt(n - 0.5) + 1.0 / np.sqrt(m - 0.5)) ** (1.0 / 3.0) / n
        if eigen[k] <= sigma2 * (centre + _TW1_99 * scale):
            break
        k += 1
    return k


def alarm_episodes(alarm: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Runs of consecutive True in a 1-D boolean array, as rows ``[start, stop)``."""
    a = np.asarray(alarm, dtype=bool)
    if a.ndim != 1:
        raise ValueError(f"alarm: must be 1-D, got shape {a.shape}")
    edges = np.diff(np.concatenate([[0], a.astype(np.int8), [0]]))
    return np.stack([np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)], axis=1).astype(np.int64)


def _enum(kind: type[_E], value: _E | str, name: str) -> _E:
    try:
        return kind(value)
    except ValueError:
        raise ValueError(f"{name}: must be one of {[m.value for m in kind]}, got {value!r}") from None


def _is_int(v: object) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _matrix(a: npt.ArrayLike, name: str, rows: int | None = None) -> F64:
    m = np.array(a, dtype=np.float64)  # a copy: inputs are never touched
    if m.ndim == 1 and name == "covariates":
        m = m[:, None]
    if m.ndim != 2 or m.shape[1] < 1:
        raise ValueError(f"{name}: must be 2-D (n_windows, n_columns) with >= 1 column, got shape {m.shape}")
    if rows is not None and m.shape[0] != rows:
        raise ValueError(f"{name}: expected {rows} rows (one per window), got {m.shape[0]}")
    if np.any(np.isinf(m)):
        raise ValueError(f"{name}: must be finite or NaN (missing), found +/-inf")
    return m


def _basis(z: F64, terms: tuple[tuple[int, float | None], ...]) -> F64:
    cols = [np.ones(z.shape[0])]
    for c, knot in terms:
        cols.append(z[:, c] if knot is None else np.maximum(knot - z[:, c], 0.0))
    return np.stack(cols, axis=1)


def _residuals(m: NoveltyModel, x: F64, z: F64 | None) -> tuple[F64, F64]:
    """Residual vectors (n, d) and environmental coordinates (n, q) (none for regression)."""
    if m.method is Method.REGRESSION:
        assert z is not None
        return x - _basis(z, m.basis_terms) @ m.coefficients, np.empty((x.shape[0], 0))
    s = ((x - m.feature_mean) / m.feature_scale) @ m.loadings
    return s[:, m.n_components:], s[:, :m.n_components]


def _mahal2(r: F64, loc: F64, chol: F64) -> F64:
    if r.shape[0] == 0:
        return np.empty(0)
    u = linalg.solve_triangular(chol, (r - loc).T, lower=True)
    return np.asarray(np.sum(u * u, axis=0), dtype=np.float64)


def _consistency(q: float, d: int) -> float:
    """Scale of a Gaussian scatter kept from the fraction q of smallest distances [CH1999]."""
    return float(q / stats.chi2.cdf(stats.chi2.ppf(q, d), d + 2))


def _scatter(r: F64) -> tuple[F64, F64]:
    return r.mean(axis=0), np.atleast_2d(np.cov(r, rowvar=False))


def _robust_scatter(r: F64, trim: float) -> tuple[F64, F64]:
    """Classical (trim = 0) or trimmed + reweighted location and scatter [RVD1999]."""
    loc, cov = _scatter(r)
    if trim == 0.0:
        return loc, cov
    n, d = r.shape
    h = n - math.floor(trim * n)
    kept: npt.NDArray[np.intp] | None = None
    for _ in range(_MAX_CSTEPS):
        dist = _mahal2(r, loc, linalg.cholesky(cov, lower=True))
        new = np.sort(np.argpartition(dist, h - 1)[:h])
        if kept is not None and np.array_equal(new, kept):
            break
        kept = new
        loc, cov = _scatter(r[kept])
    cov = cov * _consistency(h / n, d)
    dist = _mahal2(r, loc, linalg.cholesky(cov, lower=True))
    loc, cov = _scatter(r[dist <= stats.chi2.ppf(0.975, d)])
    return loc, cov * _consistency(0.975, d)


def _mean_chart_limit(values: F64, k: int, chart_alpha: float) -> float:
    """Smallest ``L`` with ``P(mean of k iid draws from values >= L) <= chart_alpha``."""
    width = float(values.max()) / _HIST_BINS
    if width <= 0.0:
        return 0.0
    pmf = np.bincount(np.ceil(values / width).astype(np.int64), minlength=_HIST_BINS + 1) / values.size
    size = k * _HIST_BINS + 1
    nfft = 1 << (size - 1).bit_length()
    pmf_k = np.fft.irfft(np.fft.rfft(pmf, nfft) ** k, nfft)[:size]
    sf = np.cumsum(np.clip(pmf_k, 0.0, None)[::-1])[::-1]  # sf[s] = P(sum >= s bins)
    s = int(np.flatnonzero(sf <= chart_alpha)[0]) if np.any(sf <= chart_alpha) else size
    return s * width / k
