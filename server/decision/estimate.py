"""The loss estimate headquarters receive, whatever produced it.

One columnar record per estimate: per-asset damage fractions, losses and
casualties, portfolio totals with their spread over the events
(realisations), and the provenance (inputs, models, versions) the brief asks
every stored result to carry.  Built by :mod:`.openquake_job` (OpenQuake job
files) and :mod:`.scenario` (a rupture and QuakeWatch's own models), exported
by :mod:`.export`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["LossEstimate", "TotalSummary", "summarise"]

FloatArray = npt.NDArray[np.float64]

#: percentiles reported for each total over the events
PERCENTILES = (5.0, 50.0, 95.0)


@dataclass(frozen=True)
class TotalSummary:
    """A portfolio total: its expected value and its spread over events."""

    mean: float
    std: float
    p5: float
    p50: float
    p95: float

    def as_dict(self) -> dict[str, float]:
        return {"mean": self.mean, "std": self.std, "p5": self.p5, "p50": self.p50, "p95": self.p95}


def summarise(event_totals: npt.ArrayLike) -> TotalSummary:
    """Mean, standard deviation (ddof=0) and percentiles of per-event totals."""
    x = np.asarray(event_totals, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError("event_totals must be a non-empty 1-D array")
    p5, p50, p95 = np.percentile(x, PERCENTILES)
    return TotalSummary(float(x.mean()), float(x.std()), float(p5), float(p50), float(p95))


@dataclass(frozen=True, eq=False)
class LossEstimate:
    """Per-asset results and totals of one damage/loss estimate.

    Attributes
    ----------
    asset_ids, lon, lat, taxonomy, number : per-asset identity (n_assets,)
    damage_states : names of DS0..DSn (DS0 = ``"no_damage"``)
    damage : loss type -> (n_assets, n_states + 1) expected fractions
    losses : loss type -> (n_assets,) expected economic loss (exposure units)
    casualties : name -> (n_assets,) expected people (``fatalities``,
        ``injured``, ``homeless`` or the Hazus severities ``severity_1..4``)
    other : name -> (n_assets,) any other consequence (``collapsed``...)
    totals : name -> TotalSummary over the events/realisations
    n_events : number of events (ground-motion fields) averaged over
    provenance : inputs, models, parameters and code version
    """

    asset_ids: npt.NDArray[np.str_]
    lon: FloatArray
    lat: FloatArray
    taxonomy: npt.NDArray[np.str_]
    number: FloatArray
    damage_states: tuple[str, ...]
    damage: dict[str, FloatArray]
    losses: dict[str, FloatArray]
    casualties: dict[str, FloatArray]
    other: dict[str, FloatArray]
    totals: dict[str, TotalSummary]
    n_events: int
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def n_assets(self) -> int:
        return int(self.asset_ids.size)
