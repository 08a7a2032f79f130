"""Scenario damage and loss over a portfolio of assets, vectorised over events.

Issue "[4] Loss estimation", numerical core.  Plain arrays in, frozen
dataclasses out; numpy/scipy only; float64 accumulation; inputs never modified.

Model
-----
Each asset ``a`` stands at one ground-motion site ``site_index[a]`` and is
described by one or more risk functions (fragility sets or vulnerability
functions) with weights, ``asset_functions[a, m]`` / ``asset_weights[a, m]``
(``-1`` pads unused slots): the OpenQuake taxonomy mapping, where a taxonomy
may map to several risk ids with weights summing to 1 [OQ-manual]_.  The
ground motion is a matrix per intensity measure type, ``gmf[imt]`` of shape
(n_events, n_sites): one row per event (a scenario realisation or a recorded
event), NaN where a site has no value for that event (the engine drops values
below ``minimum_intensity``): such an asset is undamaged in that event.

Damage
    ``fractions[a] = mean_e sum_m w_am * damage_fractions(F_m(IM[e, s_a]))``
    with :func:`quakewatch.ext.fragility.damage_fractions`; the result is the
    expected fraction of the asset's buildings in each damage state (OpenQuake
    ``scenario_damage`` with ``discrete_damage_distribution = false``).
Consequences
    A consequence (economic loss, collapsed buildings, deaths, injuries,
    homeless...) is linear in the damage fractions: for asset ``a`` and
    event ``e``, ``sum_m w_am * scale[a] * sum_k fractions_k * c[m, k]``,
    ``k >= 1``, where ``c`` is the consequence ratio of risk function ``m`` in
    damage state ``k`` and ``scale`` the exposed quantity (replacement value,
    occupants at the time of the event, residents, number of buildings)
    [OQ-manual]_ ("Consequence Models").
Losses from vulnerability functions
    ``loss[a] = mean_e sum_m w_am * value[a] * LR_m(IM[e, s_a])`` with the
    expected loss ratio of :class:`quakewatch.ext.vulnerability.VulnerabilityFunction`.

Every event's portfolio totals are kept (``event_totals``) so the spread of
the total over Monte-Carlo realisations can be reported, not just its mean.

The work is done per risk function over the unique sites that use it (damage)
or per (class, site) pair (losses), so assets sharing a site and a taxonomy
cost one evaluation; events are taken in blocks (bounded memory) on up to
``threads`` threads (numpy and scipy release the GIL in these loops); block
results are summed in block order, so the result does not depend on the
number of threads.

References
----------
.. [OQ-manual] GEM Foundation, The OpenQuake engine user manual, "Scenario
   Damage Assessment", "Scenario Risk Assessment", "Consequence Models",
   "Taxonomy mapping" (engine 3.26).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from .fragility import Convention, Fragility, fractions_of_valid_poes
from .vulnerability import VulnerabilityFunction

__all__ = [
    "AssetMapping",
    "Consequence",
    "DamageResult",
    "LossResult",
    "distinct",
    "scenario_damage",
    "scenario_losses",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: elements of one (events x sites) block; bounds the working memory per thread
BLOCK_ELEMENTS = 1 << 21
#: events are cut in up to this many blocks (so that threads have work)
BLOCK_SPLIT = 8


@dataclass(frozen=True, eq=False)
class AssetMapping:
    """Where each asset stands and which risk functions describe it.

    Assets fall in classes (a taxonomy, typically) that share their risk
    functions and weights; per-class work is done once per class.

    Parameters
    ----------
    site_index : array_like of int, shape (n_assets,)
        Column of the ground-motion matrices holding the asset's site.
    functions : array_like of int, shape (n_classes,) or (n_classes, n_slots)
        Risk-function index per class (and slot); ``-1`` marks an unused slot.
    weights : array_like, shape like ``functions``, optional
        Weight of each slot (default 1 for the single slot); the weights of a
        class's used slots must sum to 1.
    asset_class : array_like of int, shape (n_assets,), optional
        Class of each asset; default: every asset is its own class
        (``functions`` then has one row per asset).
    """

    site_index: IntArray
    functions: IntArray
    weights: FloatArray = field(default_factory=lambda: np.ones(0))
    asset_class: IntArray | None = None

    def __post_init__(self) -> None:
        sites = np.asarray(self.site_index)
        if sites.ndim != 1 or not np.issubdtype(sites.dtype, np.integer) or (sites < 0).any():
            raise ValueError("site_index must be a 1-D array of non-negative integers")
        fn = np.asarray(self.functions)
        if fn.ndim == 1:
            fn = fn[:, np.newaxis]
        cls = np.arange(sites.size) if self.asset_class is None else np.asarray(self.asset_class)
        if cls.shape != sites.shape or not np.issubdtype(cls.dtype, np.integer):
            raise ValueError(f"asset_class must be integers of shape ({sites.size},)")
        if fn.ndim != 2 or not np.issubdtype(fn.dtype, np.integer) or (cls.size and (
                cls.min() < 0 or cls.max() >= fn.shape[0])):
            raise ValueError("functions must be integers of shape (n_classes,) or (n_classes, n_slots), "
                             "with a row for every asset_class")
        w = np.asarray(self.weights, dtype=np.float64)
        if w.size == 0:
            w = np.where(fn >= 0, 1.0, 0.0)
        w = w.reshape(fn.shape) if w.size == fn.size else w
        if w.shape != fn.shape:
            raise ValueError(f"weights must have the shape of functions {fn.shape}, got {w.shape}")
        used = fn >= 0
        if not used.any(axis=1).all():
            raise ValueError("every asset needs at least one risk function (functions >= 0)")
        if not np.all(np.isfinite(w)) or (w[used] < 0).any():
            raise ValueError("weights must be finite and >= 0")
        if not np.allclose(np.where(used, w, 0.0).sum(axis=1), 1.0, atol=1e-9):
            raise ValueError("the weights of each asset's risk functions must sum to 1")
        for name, arr in (("site_index", sites.astype(np.int64)), ("functions", fn.astype(np.int64)),
                          ("weights", np.where(used, w, 0.0)), ("asset_class", cls.astype(np.int64))):
            a = np.array(arr, copy=True)
            a.setflags(write=False)
            object.__setattr__(self, name, a)

    @property
    def n_assets(self) -> int:
        return int(self.site_index.size)

    def _classes(self) -> IntArray:
        assert self.asset_class is not None  # set in __post_init__
        return self.asset_class

    def users(self, function: int) -> tuple[IntArray, FloatArray]:
        """Assets using ``function`` and their weights."""
        per_class = np.where(self.functions == function, self.weights, 0.0).sum(axis=1)
        uses = (self.functions == function).any(axis=1)
        cls = self._classes()
        rows = np.flatnonzero(uses[cls]).astype(np.int64)
        return rows, per_class[cls[rows]]

    def mixed(self, ratios: FloatArray, rows: IntArray) -> FloatArray:
        """For ``rows``, the weighted mean of their classes' rows of ``ratios`` (n_functions, k)."""
        fn = np.where(self.functions >= 0, self.functions, 0)
        per_class = np.einsum("cm,cmk->ck", self.weights, ratios[fn])
        return per_class[self._classes()[rows]]


@dataclass(frozen=True, eq=False)
class Consequence:
    """A consequence linear in the damage fractions.

    Parameters
    ----------
    name : str
        e.g. ``"losses"``, ``"fatalities"``, ``"injured"``, ``"homeless"``,
        ``"collapsed"``.
    ratios : array_like, shape (n_functions, n_states)
        Consequence ratio per risk function and damage state ``k = 1..n``.
    scale : array_like, shape (n_assets,)
        Exposed quantity per asset (value, occupants, residents, number).
    """

    name: str
    ratios: FloatArray
    scale: FloatArray

    def __post_init__(self) -> None:
        r = np.array(self.ratios, dtype=np.float64, copy=True)
        s = np.array(self.scale, dtype=np.float64, copy=True)
        if r.ndim != 2:
            raise ValueError(f"{self.name}: ratios must have shape (n_functions, n_states)")
        if s.ndim != 1 or not np.all(np.isfinite(s)) or (s < 0).any():
            raise ValueError(f"{self.name}: scale must be a 1-D array of finite values >= 0")
        if not np.all(np.isfinite(r)):
            raise ValueError(f"{self.name}: ratios must be finite")
        r.setflags(write=False)
        s.setflags(write=False)
        object.__setattr__(self, "ratios", r)
        object.__setattr__(self, "scale", s)


@dataclass(frozen=True, eq=False)
class DamageResult:
    """Expected damage and consequences per asset, and totals per event.

    Attributes
    ----------
    fractions : ndarray, shape (n_assets, n_states + 1)
        Mean fraction of each asset in DS0..DSn over the events.
    consequences : mapping name -> ndarray (n_assets,)
        Mean consequence per asset over the events.
    event_totals : mapping name -> ndarray (n_events,)
        Portfolio total per event of each consequence, and of the number of
        buildings in each damage state (keys ``"buildings:<state index>"``).
    n_events : int
    """

    fractions: FloatArray
    consequences: Mapping[str, FloatArray]
    event_totals: Mapping[str, FloatArray]
    n_events: int


@dataclass(frozen=True, eq=False)
class LossResult:
    """Expected loss per asset and total loss per event (vulnerability path)."""

    losses: FloatArray
    event_totals: FloatArray
    n_events: int


def _gmf_checked(gmf: Mapping[str, npt.ArrayLike], n_sites_needed: int) -> tuple[dict[str, FloatArray], int]:
    out: dict[str, FloatArray] = {}
    n_events = -1
    for imt, values in gmf.items():
        a = np.asarray(values, dtype=np.float64)
        if a.ndim != 2:
            raise ValueError(f"gmf[{imt!r}] must have shape (n_events, n_sites), got {a.shape}")
        if n_events >= 0 and a.shape[0] != n_events:
            raise ValueError("every gmf matrix must have the same number of events")
        n_events = a.shape[0]
        if a.shape[1] < n_sites_needed:
            raise ValueError(
                f"gmf[{imt!r}] has {a.shape[1]} sites but site_index refers to site {n_sites_needed - 1}"
            )
        finite = a[~np.isnan(a)]
        if (finite < 0).any() or np.isinf(finite).any():
            raise ValueError(f"gmf[{imt!r}] values must be finite and >= 0 (NaN = no value)")
        out[imt] = a
    if n_events <= 0:
        raise ValueError("gmf must hold at least one event")
    return out, n_events


#: below this many (events x sites) values threads cost more than they save
THREAD_MIN_ELEMENTS = 1 << 20


def _blocks(n_events: int, n_sites: int) -> list[slice]:
    """Event blocks: one for small problems, else up to ``BLOCK_SPLIT`` of them (work for
    every thread), bounded memory.

    The partition depends on the numbers of events and sites only, never on
    the number of threads, so neither do the sums.
    """
    if n_events * n_sites < THREAD_MIN_ELEMENTS:  # no threads: one block
        return [slice(0, n_events)]
    size = max(1, min(BLOCK_ELEMENTS // max(n_sites, 1), -(-n_events // BLOCK_SPLIT)))
    return [slice(i, min(i + size, n_events)) for i in range(0, n_events, size)]


def _map_blocks(work: Callable[[slice], tuple[FloatArray, ...]], blocks: list[slice],
                threads: int, n_elements: int = THREAD_MIN_ELEMENTS) -> list[tuple[FloatArray, ...]]:
    if threads <= 1 or len(blocks) == 1 or n_elements < THREAD_MIN_ELEMENTS:
        return [work(b) for b in blocks]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(work, blocks))  # results in block order


def distinct(keys: IntArray, size: int) -> tuple[IntArray, IntArray]:
    """``np.unique(keys, return_inverse=True)`` for keys in ``[0, size)``: by a lookup
    table over the keys when ``size`` is not much more than their number (O(n), where
    sorting 100,000 of them took 8 ms), else by sorting."""
    if size > 4 * keys.size + 1024:
        distinct, inverse = np.unique(keys, return_inverse=True)
        return distinct.astype(np.int64), inverse.reshape(-1).astype(np.int64)
    present = np.zeros(size, dtype=bool)
    present[keys] = True
    distinct = np.flatnonzero(present).astype(np.int64)
    position = np.zeros(size, dtype=np.int64)
    position[distinct] = np.arange(distinct.size)
    return distinct, position[keys]


def _site_groups(mapping: AssetMapping, function: int) -> tuple[IntArray, IntArray, IntArray, FloatArray]:
    """The assets using ``function``, the sorted sites they stand at, each one's position
    among those sites, and their weights."""
    rows, weights = mapping.users(function)
    sites, inverse = distinct(mapping.site_index[rows], int(mapping.site_index.max(initial=-1)) + 1)
    return rows, sites, inverse, weights


def scenario_damage(
    fragilities: Sequence[Fragility],
    mapping: AssetMapping,
    number: npt.ArrayLike,
    gmf: Mapping[str, npt.ArrayLike],
    consequences: Sequence[Consequence] = (),
    *,
    convention: Convention = "quakewatch",
    threads: int = 2,
) -> DamageResult:
    """Expected damage-state fractions and consequences per asset.

    Parameters
    ----------
    fragilities : sequence of fragility sets, all with the same number of states
        Indexed by ``mapping.functions``; each names its ``imt``, a key of ``gmf``.
    mapping : AssetMapping
    number : array_like, shape (n_assets,)
        Number of buildings (units) each asset stands for, >= 0.
    gmf : mapping imt -> array_like (n_events, n_sites)
        Ground-motion values; NaN where a site has no value for an event.
    consequences : sequence of Consequence
    convention : {"quakewatch", "openquake"}
        Fragility and fraction conventions (:mod:`quakewatch.ext.fragility`);
        with ``"openquake"`` DS0 is ``1 - sum(DS1..DSn)`` after the engine's
        1e-7 cut (number - damaged, as the engine counts it), clipped at 0 in
        the per-asset means as the engine clips them, and an asset mapped to
        several risk functions gets the weighted mean of their consequence
        ratios applied to its weighted mean damage (the engine's
        ``compute_csq``), instead of each function's ratios applied to that
        function's damage.
    threads : int
        Threads for the event blocks.
    """
    n_assets = mapping.n_assets
    num = np.asarray(number, dtype=np.float64)
    if num.shape != (n_assets,) or not np.all(np.isfinite(num)) or (num < 0).any():
        raise ValueError(f"number must be finite, >= 0, of shape ({n_assets},)")
    if not fragilities:
        raise ValueError("fragilities must not be empty")
    n_states = fragilities[0].n_states
    if any(f.n_states != n_states for f in fragilities):
        raise ValueError("every fragility set must have the same damage states")
    if mapping.functions.max() >= len(fragilities):
        raise ValueError(f"mapping.functions refers to function {mapping.functions.max()}, "
                         f"only {len(fragilities)} given")
    for c in consequences:
        if c.ratios.shape != (len(fragilities), n_states) or c.scale.shape != (n_assets,):
            raise ValueError(f"consequence {c.name!r}: ratios must be ({len(fragilities)}, {n_states}) "
                             f"and scale ({n_assets},)")
    ground, n_events = _gmf_checked(gmf, int(mapping.site_index.max()) + 1)
    # the engine applies the weighted mean of a taxonomy's consequence ratios to its
    # weighted mean damage; QuakeWatch pairs each risk function's ratios with its damage

    fractions = np.zeros((n_assets, n_states + 1))
    per_asset = {c.name: np.zeros(n_assets) for c in consequences}
    totals = {c.name: np.zeros(n_events) for c in consequences}
    totals.update({f"buildings:{k}": np.zeros(n_events) for k in range(n_states + 1)})

    for f, frag in enumerate(fragilities):
        rows, sites, inverse, weights = _site_groups(mapping, f)
        if rows.size == 0:
            continue
        try:
            im = ground[frag.imt][:, sites]
        except KeyError:
            raise ValueError(f"gmf has no {frag.imt!r} values, needed by fragility {f}") from None
        # per-site sums of what each event total needs: buildings, and per consequence the
        # scale-weighted ratio vector of the site's assets
        site_number = np.bincount(inverse, weights * num[rows], minlength=sites.size).astype(np.float64)
        slot_ratios = [(c.ratios[f][np.newaxis, :] if convention != "openquake" else mapping.mixed(c.ratios, rows))
                       * (weights * c.scale[rows])[:, np.newaxis] for c in consequences]
        # (sites x states, consequences): every event's consequence totals in one product
        # (DS0 rows are zero: no consequence without damage)
        by_site = np.zeros((sites.size, n_states + 1, len(consequences)))
        for j, r in enumerate(slot_ratios):
            for k in range(n_states):
                by_site[:, k + 1, j] = np.bincount(inverse, r[:, k], minlength=sites.size)
        site_ratios: FloatArray = by_site.reshape(sites.size * (n_states + 1), len(consequences))

        def work(block: slice, im: FloatArray = im, frag: Fragility = frag,
                 site_number: FloatArray = site_number,
                 site_ratios: FloatArray = site_ratios) -> tuple[FloatArray, ...]:
            x = im[block]
            missing = np.isnan(x)
            fr = fractions_of_valid_poes(frag.poes(np.where(missing, 0.0, x), convention, validate=False),
                                         convention)
            if convention == "openquake":  # the engine counts no-damage as number - damaged
                fr[..., 0] = 1.0 - fr[..., 1:].sum(axis=-1)
            if missing.any():
                fr[missing] = 0.0
                fr[missing, 0] = 1.0
            by_state = np.matmul(fr.transpose(0, 2, 1), site_number)  # (events, states)
            cons = fr.reshape(fr.shape[0], -1) @ site_ratios  # (events, consequences)
            return fr.sum(axis=0), by_state, cons

        results = _map_blocks(work, _blocks(n_events, sites.size), threads, n_events * sites.size)
        site_sum = np.zeros((sites.size, n_states + 1))
        for block, res in zip(_blocks(n_events, sites.size), results):
            site_sum += res[0]
            for k in range(n_states + 1):
                totals[f"buildings:{k}"][block] += res[1][:, k]
            for j, c in enumerate(consequences):
                totals[c.name][block] += res[2][:, j]
        site_mean = site_sum / n_events
        contribution = weights[:, np.newaxis] * site_mean[inverse]
        fractions[rows] += contribution  # rows are distinct
        for c, r in zip(consequences, slot_ratios):
            per_asset[c.name][rows] += np.einsum("ak,ak->a", site_mean[inverse, 1:], r)

    if convention == "openquake":  # the engine's no-damage count: number - damaged, clipped at 0
        fractions[:, 0] = np.maximum(1.0 - fractions[:, 1:].sum(axis=1), 0.0)
    for arr in (fractions, *per_asset.values(), *totals.values()):
        arr.setflags(write=False)
    return DamageResult(fractions=fractions, consequences=per_asset, event_totals=totals,
                        n_events=n_events)


def scenario_losses(
    vulnerabilities: Sequence[VulnerabilityFunction],
    mapping: AssetMapping,
    value: npt.ArrayLike,
    gmf: Mapping[str, npt.ArrayLike],
    *,
    minimum_loss: float = 0.0,
    threads: int = 2,
) -> LossResult:
    """Expected loss per asset from vulnerability functions.

    ``value`` (n_assets,) is the exposed quantity of the loss type (a
    replacement cost, or occupants for a fatality vulnerability function).
    Missing (NaN) ground motion means no loss for that event.  A loss of an
    asset in one event at or below ``minimum_loss`` counts as 0 (OpenQuake's
    ``minimum_asset_loss``).
    """
    n_assets = mapping.n_assets
    val = np.asarray(value, dtype=np.float64)
    if val.shape != (n_assets,) or not np.all(np.isfinite(val)) or (val < 0).any():
        raise ValueError(f"value must be finite, >= 0, of shape ({n_assets},)")
    if not vulnerabilities:
        raise ValueError("vulnerabilities must not be empty")
    if mapping.functions.max() >= len(vulnerabilities):
        raise ValueError(f"mapping.functions refers to function {mapping.functions.max()}, "
                         f"only {len(vulnerabilities)} given")
    ground, n_events = _gmf_checked(gmf, int(mapping.site_index.max()) + 1)
    if minimum_loss <= 0.0:
        return _losses_by_class_and_site(vulnerabilities, mapping, val, ground, n_events, threads)
    losses = np.zeros(n_assets)
    event_totals = np.zeros(n_events)
    for f, vf in enumerate(vulnerabilities):
        rows, sites, inverse, weights = _site_groups(mapping, f)
        if rows.size == 0:
            continue
        try:
            im = ground[vf.imt][:, sites]
        except KeyError:
            raise ValueError(f"gmf has no {vf.imt!r} values, needed by {vf.id!r}") from None
        if minimum_loss > 0.0:  # the threshold is per asset: evaluate asset by asset
            sites, inverse = mapping.site_index[rows], np.arange(rows.size)
            im = ground[vf.imt][:, sites]
        asset_value = weights * val[rows]
        site_value = np.bincount(inverse, asset_value, minlength=sites.size).astype(np.float64)

        def work(block: slice, im: FloatArray = im, vf: VulnerabilityFunction = vf,
                 site_value: FloatArray = site_value, asset_value: FloatArray = asset_value
                 ) -> tuple[FloatArray, ...]:
            x = im[block]
            lr = vf.mean_loss_ratio(np.where(np.isnan(x), 0.0, x))
            lr[np.isnan(x)] = 0.0
            if minimum_loss > 0.0:
                lr[lr * asset_value <= minimum_loss] = 0.0
            return lr.sum(axis=0), lr @ site_value

        blocks = _blocks(n_events, sites.size)
        site_sum = np.zeros(sites.size)
        for block, (part, tot) in zip(blocks, _map_blocks(work, blocks, threads, n_events * sites.size)):
            site_sum += part
            event_totals[block] += tot
        losses[rows] += asset_value * site_sum[inverse] / n_events  # rows are distinct
    losses.setflags(write=False)
    event_totals.setflags(write=False)
    return LossResult(losses=losses, event_totals=event_totals, n_events=n_events)


def _class_site_pairs(mapping: AssetMapping) -> tuple[IntArray, IntArray, IntArray]:
    """The distinct (class, site) pairs of the assets, sorted, and each asset's pair."""
    n_sites = int(mapping.site_index.max(initial=-1)) + 1
    pairs, of_asset = distinct(mapping._classes() * n_sites + mapping.site_index,
                                int(mapping.functions.shape[0]) * n_sites)
    return pairs // n_sites, pairs % n_sites, of_asset


def _losses_by_class_and_site(vulnerabilities: Sequence[VulnerabilityFunction], mapping: AssetMapping,
                              val: FloatArray, ground: dict[str, FloatArray], n_events: int,
                              threads: int) -> LossResult:
    """:func:`scenario_losses` without a minimum loss: every asset of one class at one
    site has the same loss ratio in every event, so the ratios are computed per
    (class, site) pair and each asset's loss is its value times its pair's mean
    ratio; an event's total is the pairs' values (summed over their assets) times
    their ratios in that event."""
    pair_class, pair_site, of_asset = _class_site_pairs(mapping)
    n_pairs = pair_class.size
    pair_value = np.bincount(of_asset, val, minlength=n_pairs).astype(np.float64)
    n_sites = int(mapping.site_index.max(initial=-1)) + 1
    users = []  # per function: the pairs whose class uses it, its weight there, the sites of those pairs
    for f, vf in enumerate(vulnerabilities):
        weight = np.where(mapping.functions == f, mapping.weights, 0.0).sum(axis=1)[pair_class]
        rows = np.flatnonzero(weight > 0.0)
        if rows.size:
            if vf.imt not in ground:
                raise ValueError(f"gmf has no {vf.imt!r} values, needed by {vf.id!r}")
            sites, at = distinct(pair_site[rows], n_sites)  # a function shared by classes: once per site
            users.append((vf, rows, weight[rows], sites, at))

    def work(block: slice) -> tuple[FloatArray, ...]:
        ratio = np.zeros((block.stop - block.start, n_pairs))
        for vf, rows, weight, sites, at in users:
            x = ground[vf.imt][block][:, sites]
            missing = np.isnan(x)
            lr = vf.mean_loss_ratio(np.where(missing, 0.0, x))
            lr[missing] = 0.0
            ratio[:, rows] += weight * lr[:, at]
        return ratio.sum(axis=0), ratio @ pair_value

    blocks = _blocks(n_events, n_pairs)
    ratio_sum = np.zeros(n_pairs)
    event_totals = np.zeros(n_events)
    for block, (part, tot) in zip(blocks, _map_blocks(work, blocks, threads, n_events * n_pairs)):
        ratio_sum += part
        event_totals[block] += tot
    losses = val * (ratio_sum / n_events)[of_asset]
    losses.setflags(write=False)
    event_totals.setflags(write=False)
    return LossResult(losses=losses, event_totals=event_totals, n_events=n_events)
