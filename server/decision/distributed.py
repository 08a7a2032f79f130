"""Large portfolios on a Dask cluster: the damage kernel over chunks of assets.

The portfolio is cut into chunks of whole sites (every asset of a site lands in
the same chunk); each chunk runs :func:`quakewatch.ext.loss.scenario_damage` or
``scenario_losses`` on a worker with only the ground-motion columns of its own
sites; per-asset results are concatenated back in asset order and per-event
totals summed.  The per-asset numbers are those of the in-process run (the
same arithmetic on the same rows); totals differ by summation order only.

``client`` is a ``distributed.Client`` (a ``LocalCluster`` on a laptop, a
scheduler address on a cluster: ``quakewatch loss --dask ADDRESS``).  Dask is
an optional extra (``pip install 'quakewatch[dask]'``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from quakewatch.ext.fragility import Convention, Fragility
from quakewatch.ext.loss import (
    AssetMapping,
    Consequence,
    DamageResult,
    LossResult,
    scenario_damage,
    scenario_losses,
)
from quakewatch.ext.vulnerability import VulnerabilityFunction

__all__ = ["DEFAULT_CHUNK_ASSETS", "chunks_by_site", "damage_on_cluster", "losses_on_cluster"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
DEFAULT_CHUNK_ASSETS = 250_000


def chunks_by_site(site_index: IntArray, chunk_assets: int) -> list[IntArray]:
    """Asset rows in chunks of about ``chunk_assets``, never splitting a site."""
    order = np.argsort(site_index, kind="stable")
    sites = site_index[order]
    cuts = [0]
    while cuts[-1] < order.size:
        end = min(cuts[-1] + chunk_assets, order.size)
        if end < order.size:  # move the cut to the next site boundary
            end = int(np.searchsorted(sites, sites[end - 1], side="right"))
        cuts.append(end)
    return [np.sort(order[a:b]) for a, b in zip(cuts[:-1], cuts[1:])]


def _local(mapping: AssetMapping, rows: IntArray, gmf: Mapping[str, FloatArray]
           ) -> tuple[AssetMapping, dict[str, FloatArray]]:
    sites, local_site = np.unique(mapping.site_index[rows], return_inverse=True)
    assert mapping.asset_class is not None  # set by AssetMapping
    sub = AssetMapping(site_index=local_site.reshape(-1).astype(np.int64), functions=mapping.functions,
                       weights=mapping.weights, asset_class=mapping.asset_class[rows])
    return sub, {imt: np.ascontiguousarray(values[:, sites]) for imt, values in gmf.items()}


def damage_on_cluster(
    client: Any,
    fragilities: Sequence[Fragility],
    mapping: AssetMapping,
    number: npt.ArrayLike,
    gmf: Mapping[str, npt.ArrayLike],
    consequences: Sequence[Consequence] = (),
    *,
    convention: Convention = "quakewatch",
    chunk_assets: int | None = None,
) -> DamageResult:
    """:func:`quakewatch.ext.loss.scenario_damage` with the portfolio spread over ``client``'s workers."""
    num = np.asarray(number, dtype=np.float64)
    ground = {imt: np.asarray(v, dtype=np.float64) for imt, v in gmf.items()}
    frags = client.scatter(list(fragilities), broadcast=True)
    futures, parts = [], chunks_by_site(mapping.site_index, chunk_assets or DEFAULT_CHUNK_ASSETS)
    for rows in parts:
        sub, local_gmf = _local(mapping, rows, ground)
        cons = [Consequence(c.name, c.ratios, c.scale[rows]) for c in consequences]
        futures.append(client.submit(scenario_damage, frags, sub, num[rows], local_gmf, cons,
                                     convention=convention, threads=1, pure=False))
    results: list[DamageResult] = client.gather(futures)
    fractions = np.zeros((mapping.n_assets, results[0].fractions.shape[1]))
    per_asset = {c.name: np.zeros(mapping.n_assets) for c in consequences}
    totals = {k: np.zeros_like(v) for k, v in results[0].event_totals.items()}
    for rows, res in zip(parts, results):
        fractions[rows] = res.fractions
        for name, values in res.consequences.items():
            per_asset[name][rows] = values
        for name, values in res.event_totals.items():
            totals[name] += values
    return DamageResult(fractions=fractions, consequences=per_asset, event_totals=totals,
                        n_events=results[0].n_events)


def losses_on_cluster(
    client: Any,
    vulnerabilities: Sequence[VulnerabilityFunction],
    mapping: AssetMapping,
    value: npt.ArrayLike,
    gmf: Mapping[str, npt.ArrayLike],
    *,
    minimum_loss: float = 0.0,
    chunk_assets: int | None = None,
) -> LossResult:
    """:func:`quakewatch.ext.loss.scenario_losses` with the portfolio spread over ``client``'s workers."""
    val = np.asarray(value, dtype=np.float64)
    ground = {imt: np.asarray(v, dtype=np.float64) for imt, v in gmf.items()}
    vfs = client.scatter(list(vulnerabilities), broadcast=True)
    futures, parts = [], chunks_by_site(mapping.site_index, chunk_assets or DEFAULT_CHUNK_ASSETS)
    for rows in parts:
        sub, local_gmf = _local(mapping, rows, ground)
        futures.append(client.submit(scenario_losses, vfs, sub, val[rows], local_gmf,
                                     minimum_loss=minimum_loss, threads=1, pure=False))
    results: list[LossResult] = client.gather(futures)
    losses = np.zeros(mapping.n_assets)
    totals = np.zeros_like(results[0].event_totals)
    for rows, res in zip(parts, results):
        losses[rows] = res.losses
        totals += res.event_totals
    return LossResult(losses=losses, event_totals=totals, n_events=results[0].n_events)
