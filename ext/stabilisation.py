"""Stabilisation criteria and automatic mode selection by clustering of stable poles.

Steps (the automated SSI-cov of Magalhaes, Cunha & Caetano 2009, with the stability
test of Peeters & De Roeck 1999 in front):

1. **Stability.**  A pole of order ``n`` is stable when the previous order has a pole
   with relative frequency change ``<= tol_frequency``, relative damping change
   ``<= tol_damping`` and ``1 - MAC <= tol_mac``; poles whose modal phase
   collinearity is below ``min_mpc`` are not candidates (noise poles are complex).
2. **Clustering.**  Stable poles are grouped by average-linkage hierarchical
   clustering with the distance ``|f_a - f_b| / max(f_a, f_b) + (1 - MAC_ab)``, cut at
   ``cluster_distance`` (Magalhaes et al. 2009, sec. 3).  Close modes with different
   shapes stay apart through the MAC term.
3. **Selection.**  A cluster is a physical mode when it holds poles from at least
   ``min_cluster_fraction`` of the orders it could appear in (orders from its lowest
   pole up) and from at least ``min_total_fraction`` of all orders; spurious poles rarely stabilise over many orders (Reynders 2012, sec. 6).
   One pole per order is kept (the closest to the cluster median), and poles outside
   ``median +/- 3 * 1.4826 * MAD`` in frequency or damping are dropped; the mode's
   shape is the phase-aligned mean of the remaining poles' shapes.
4. **Harmonics.**  A periodic excitation (machinery) gives an undamped pole: a cluster
   with median damping below ``harmonic_damping`` is reported as a harmonic, not a
   mode (Brincker & Ventura 2015, sec. 10.6 discuss harmonic detection; damping is
   the criterion available from correlations alone).
5. **Estimates from sufficient orders.**  A model of order ``n`` holds at most ``n / 2``
   modes; below ``n = 2 (modes + harmonics selected)`` a pole is a compromise between
   the modes the model cannot hold and its frequency is biased (Peeters & De Roeck
   1999; Reynders 2012: the model order must be over-specified).
   Measured on the 16-storey shear buildings of ``benchmarks/modal_accuracy.py``
   (16 modes, 40 seeded records): poles of orders below 32 of the upper, crowded
   modes sit 0.8-1.5 statistical-floor sigma low on average, those of orders 32-100
   within about 0.5.  So the frequency and damping are the means over the cluster's
   poles of orders ``>= 2 (modes + harmonics)`` (if at least ``min_cluster_size``
   remain; a smooth function of the data, so that the jackknife applies, and the
   jackknife uses the same poles).  The shape keeps every pole of step 3: across
   records the low-order shapes show no measurable bias (mean shape over 24 records
   within MAC 1e-4 of the truth) and they lower the shape scatter of crowded modes.

References
----------
Magalhaes, Cunha & Caetano (2009), Online automatic identification of the modal
    parameters of a long span arch bridge, Mech. Syst. Signal Process. 23(2), 316-329.
Peeters & De Roeck (1999), Mech. Syst. Signal Process. 13(6), 855-878.
Reynders (2012), Arch. Comput. Methods Eng. 19, 51-124.
Brincker & Ventura (2015), Introduction to Operational Modal Analysis, Wiley.
Allemang & Brown (1982), A correlation coefficient for modal vector analysis, 1st IMAC (MAC).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.cluster.hierarchy as sch

from .ssi import Poles


@dataclass(frozen=True)
class SelectionOptions:
    """Thresholds of stability, clustering and selection (see the module docstring)."""

    tol_frequency: float = 0.01
    tol_damping: float = 0.1
    tol_mac: float = 0.05
    min_mpc: float = 0.5
    cluster_distance: float = 0.02
    min_cluster_fraction: float = 0.3
    #: and in at least this fraction of all orders of the diagram
    min_total_fraction: float = 0.25
    min_cluster_size: int = 4
    harmonic_damping: float = 0.001
    #: modes whose jackknife frequency std exceeds this multiple of the statistical floor are dropped
    max_std_ratio: float = 15.0
    #: modes whose correlation amplitude is below this many jackknife standard errors
    #: and positive in too few blocks (sign test p above ``max_sign_p``) are dropped
    #: (``ext/modal_significance.py``)
    min_amplitude_t: float = 6.0
    max_sign_p: float = 1e-4


@dataclass(frozen=True, eq=False)
class Cluster:
    """Poles selected for one mode (indices into the :class:`Poles`)."""

    members: npt.NDArray[np.intp]
    frequency_hz: float
    damping_ratio: float
    shape: npt.NDArray[np.complex128]
    harmonic: bool


def mac_matrix(a: npt.ArrayLike, b: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Modal assurance criterion between the rows of ``a`` and the rows of ``b``.

    ``MAC = |a^H b|^2 / ((a^H a)(b^H b))`` (Allemang & Brown 1982); 0 for a zero vector.
    """
    a = np.atleast_2d(np.asarray(a))
    b = np.atleast_2d(np.asarray(b))
    num = np.abs(np.conj(a) @ b.T) ** 2
    den = np.outer(np.einsum("ij,ij->i", np.conj(a), a).real, np.einsum("ij,ij->i", np.conj(b), b).real)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / den
    return np.where(den > 0, out, 0.0)


def stable_mask(poles: Poles, opts: SelectionOptions) -> npt.NDArray[np.bool_]:
    """Which poles pass the stability test against the previous order."""
    stable = np.zeros(poles.orders.size, dtype=bool)
    orders = np.unique(poles.orders)
    for prev, cur in zip(orders[:-1], orders[1:]):
        ip = np.flatnonzero(poles.orders == prev)
        ic = np.flatnonzero(poles.orders == cur)
        if ip.size == 0 or ic.size == 0:
            continue
        fp, fc = poles.frequencies_hz[ip], poles.frequencies_hz[ic]
        df = np.abs(fc[:, None] - fp[None, :]) / fc[:, None]
        # relative damping change; near zero damping (harmonics) relative to the harmonic limit
        dref = np.maximum(np.abs(poles.damping_ratios[ic]), opts.harmonic_damping)[:, None]
        dd = np.abs(poles.damping_ratios[ic][:, None] - poles.damping_ratios[ip][None, :]) / dref
        dm = 1.0 - mac_matrix(poles.mode_shapes[ic], poles.mode_shapes[ip])
        ok = (df <= opts.tol_frequency) & (dd <= opts.tol_damping) & (dm <= opts.tol_mac)
        stable[ic] = ok.any(axis=1)
    return stable & (poles.mpc >= opts.min_mpc)


def _robust_keep(values: np.ndarray) -> np.ndarray:
    med = np.median(values)
    mad = 1.4826 * np.median(np.abs(values - med))
    if mad == 0:
        return np.ones(values.size, dtype=bool)
    return np.abs(values - med) <= 3 * mad


def select_modes(poles: Poles, stable: npt.NDArray[np.bool_], opts: SelectionOptions) -> tuple[list[Cluster], npt.NDArray[np.intp]]:
    """Clusters of stable poles that qualify as modes or harmonics, sorted by frequency.

    Returns the clusters and, for every pole, its cluster label (``-1``: not clustered).
    """
    labels = np.full(poles.orders.size, -1, dtype=np.intp)
    idx = np.flatnonzero(stable)
    if idx.size < 2:
        return [], labels
    f = poles.frequencies_hz[idx]
    dist = np.abs(f[:, None] - f[None, :]) / np.maximum(f[:, None], f[None, :])
    dist += 1.0 - mac_matrix(poles.mode_shapes[idx], poles.mode_shapes[idx])
    np.fill_diagonal(dist, 0.0)
    condensed = dist[np.triu_indices(idx.size, 1)]
    tree = sch.linkage(np.maximum(condensed, 0.0), method="average")
    raw = sch.fcluster(tree, t=opts.cluster_distance, criterion="distance")
    all_orders = np.unique(poles.orders)
    qualified: list[np.ndarray] = []
    for members in _merge_split(poles, [idx[raw == lab] for lab in np.unique(raw)], opts):
        members = _one_per_order(poles, members)
        possible = int(np.count_nonzero(all_orders >= poles.orders[members].min()))
        if members.size < max(opts.min_cluster_size, opts.min_cluster_fraction * possible,
                              opts.min_total_fraction * all_orders.size):
            continue
        members = _trim(poles, members, opts)
        if members.size >= opts.min_cluster_size:
            qualified.append(members)
    # Step 5 (module docstring): the estimates use only orders that can hold every
    # selected mode, n >= 2 (number of modes and harmonics)
    full_order = 2 * len(qualified)
    clusters: list[Cluster] = []
    for members in qualified:
        shape = _mean_shape(poles.mode_shapes[members])
        high = members[poles.orders[members] >= full_order]
        if opts.min_cluster_size <= high.size < members.size:
            high = _trim(poles, high, opts)
            if high.size >= opts.min_cluster_size:
                members = high
        freq = float(np.mean(poles.frequencies_hz[members]))
        damp = float(np.mean(poles.damping_ratios[members]))
        clusters.append(Cluster(members, freq, damp, shape, damp < opts.harmonic_damping))
    clusters.sort(key=lambda c: c.frequency_hz)
    for k, c in enumerate(clusters):
        labels[c.members] = k
    return clusters, labels


def _trim(poles: Poles, members: np.ndarray, opts: SelectionOptions) -> np.ndarray:
    """Drop frequency (and, for damped clusters, damping) outliers and negative damping."""
    keep = _robust_keep(poles.frequencies_hz[members])
    if np.mean(poles.damping_ratios[members]) >= opts.harmonic_damping:
        keep &= _robust_keep(poles.damping_ratios[members]) & (poles.damping_ratios[members] > 0)
    return members[keep]


def _merge_split(poles: Poles, groups: list[np.ndarray], opts: SelectionOptions) -> list[np.ndarray]:
    """Merge groups that are one mode whose estimate drifted with the model order.

    Two groups are the same mode when their mean shapes agree (MAC >= ``1 - 5 tol_mac``),
    their frequencies are within ``5 tol_frequency`` and they (almost) never occur in the
    same model order; a pair of genuine close modes coexists in the same orders.  Groups
    that coexist are still one mode when their shapes are indistinguishable (MAC >=
    ``1 - tol_mac / 5``) within ``2 tol_frequency``: an over-specified model splits a
    mode into two poles at the higher orders (seen once in 100 records of the X/Y
    building of ``benchmarks/modal_accuracy.py``: 8.965 and 9.081 Hz for the 9.029 Hz
    mode, shapes MAC 0.9945), while genuine close modes differ in shape, or the sensors
    could not tell them apart.  One pole per order is kept afterwards.
    """
    small = [g for g in groups if g.size < 2]
    groups = sorted((g for g in groups if g.size >= 2), key=lambda g: -g.size)
    if len(groups) < 2:
        return groups + small
    # a merge changes one group: only its summary is recomputed before the next scan
    shapes = np.array([_mean_shape(poles.mode_shapes[g]) for g in groups])
    freqs = np.array([np.median(poles.frequencies_hz[g]) for g in groups])
    merged = True
    while merged and len(groups) > 1:
        merged = False
        mac = mac_matrix(shapes, shapes)
        for a in range(len(groups)):
            for b in range(a + 1, len(groups)):
                if mac[a, b] < 1 - 5 * opts.tol_mac or abs(freqs[a] - freqs[b]) > 5 * opts.tol_frequency * freqs[a]:
                    continue
                oa, ob = set(poles.orders[groups[a]].tolist()), set(poles.orders[groups[b]].tolist())
                split = mac[a, b] >= 1 - opts.tol_mac / 5 and abs(freqs[a] - freqs[b]) <= 2 * opts.tol_frequency * freqs[a]
                if split or len(oa & ob) <= 0.2 * min(len(oa), len(ob)):
                    groups[a] = np.concatenate([groups[a], groups[b]])
                    del groups[b]
                    shapes, freqs = np.delete(shapes, b, axis=0), np.delete(freqs, b)
                    shapes[a] = _mean_shape(poles.mode_shapes[groups[a]])
                    freqs[a] = np.median(poles.frequencies_hz[groups[a]])
                    merged = True
                    break
            if merged:
                break
    return groups + small


def _one_per_order(poles: Poles, members: np.ndarray) -> np.ndarray:
    """Keep, for each order, the member closest in frequency to the cluster median."""
    med = np.median(poles.frequencies_hz[members])
    order = np.lexsort((np.abs(poles.frequencies_hz[members] - med), poles.orders[members]))
    m = members[order]
    first = np.ones(m.size, dtype=bool)
    first[1:] = poles.orders[m][1:] != poles.orders[m][:-1]
    return np.sort(m[first])


def _mean_shape(shapes: np.ndarray) -> np.ndarray:
    """Average of unit-norm shapes after aligning each one's phase to the first."""
    ref = shapes[0]
    phase = np.conj(shapes) @ ref
    aligned = shapes * (phase / np.where(np.abs(phase) > 0, np.abs(phase), 1.0))[:, None]
    mean = aligned.mean(axis=0)
    norm = np.linalg.norm(mean)
    return mean / norm if norm > 0 else mean
