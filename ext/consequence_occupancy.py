"""Occupants by time of day: OpenQuake periods and the Hazus population table.

Part of issue "[4] Loss estimation"; re-exported by
:mod:`quakewatch.ext.consequence` (see its docstring, "Occupants by time of
day", for the conventions and references [OQ-exposure]_, [pelicun-hazus]_,
[Hazus-TM]_ Table 13.2).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from quakewatch.ext._consequence_tables import FloatArray, frozen, labels, nonnegative
from quakewatch.ext.consequence_hazus_tables import hazus_population_distribution

__all__ = ["HazusOccupants", "hazus_occupants", "occupants_at"]

ArrayLike = npt.ArrayLike


_PERIODS = ("day", "night", "transit")
#: Hour of day -> period, SimCenter pelicun hazus_data_eq.json "Parts_of_day".
_NIGHT_HOURS = frozenset((0, 1, 2, 3, 4, 5, 20, 21, 22, 23))
_DAY_HOURS = frozenset((9, 10, 11, 12, 13, 14, 15))
_PERIOD_TO_SCENARIO = {"night": "2am", "day": "2pm", "transit": "5pm"}


def _period(time_of_day: str | float) -> str:
    if isinstance(time_of_day, str):
        key = time_of_day.strip().lower()
        alias = {v: k for k, v in _PERIOD_TO_SCENARIO.items()}
        key = alias.get(key, key)
        if key not in (*_PERIODS, "avg"):
            raise ValueError(
                f"time_of_day must be one of 'day', 'night', 'transit', 'avg', '2am', '2pm', '5pm' "
                f"or an hour in [0, 24), got {time_of_day!r}"
            )
        return key
    if isinstance(time_of_day, bool):
        raise ValueError("time_of_day must be a period name or an hour in [0, 24), got a bool")
    hour = float(time_of_day)
    if not np.isfinite(hour) or not 0.0 <= hour < 24.0:
        raise ValueError(f"time_of_day hour must be within [0, 24), got {time_of_day!r}")
    h = int(np.floor(hour))
    return "night" if h in _NIGHT_HOURS else "day" if h in _DAY_HOURS else "transit"


def occupants_at(
    time_of_day: str | float,
    *,
    day: ArrayLike,
    night: ArrayLike,
    transit: ArrayLike,
) -> FloatArray:
    """Occupants of each asset at a time of day (OpenQuake exposure convention).

    Parameters
    ----------
    time_of_day : {"day", "night", "transit", "avg", "2pm", "2am", "5pm"} or float
        Period, Hazus scenario time, or hour of day in [0, 24) mapped to a
        period as in the module docstring.  ``"avg"`` = (day + night + transit) / 3.
    day, night, transit : array_like, shape (n_assets,)
        Occupants in each period (people), >= 0.

    Returns
    -------
    ndarray, shape (n_assets,), float64
    """
    d = nonnegative("day", day)
    nt = nonnegative("night", night, d.size)
    t = nonnegative("transit", transit, d.size)
    period = _period(time_of_day)
    if period == "avg":
        out: FloatArray = (d + nt + t) / 3.0
        return out
    return {"day": d, "night": nt, "transit": t}[period]


@dataclass(frozen=True, eq=False)
class HazusOccupants:
    """People present in each asset at a Hazus scenario time (Table 13.2).

    Attributes
    ----------
    indoor, outdoor : ndarray, shape (n_assets,)
        People inside, and outside near the building (people).
    scenario : str
        ``"2am"``, ``"2pm"`` or ``"5pm"``.
    census_base : tuple of str
        Hazus census variable the supplied ``population`` stands for, per asset.
    """

    indoor: FloatArray
    outdoor: FloatArray
    scenario: str
    census_base: tuple[str, ...] = field(default=())

    @property
    def present(self) -> FloatArray:
        """``indoor + outdoor``."""
        out: FloatArray = self.indoor + self.outdoor
        return out


def hazus_occupants(
    time_of_day: str | float,
    population: ArrayLike,
    occupancy_class: ArrayLike | Sequence[str],
) -> HazusOccupants:
    """Hazus Table 13.2 population distribution, primary component only.

    Parameters
    ----------
    time_of_day : {"night", "day", "transit", "2am", "2pm", "5pm"} or float
        Hazus scenario (night = 2 a.m., day = 2 p.m., transit = 5 p.m.) or an
        hour mapped to one.  ``"avg"`` is not a Hazus scenario and raises.
    population : array_like, shape (n_assets,)
        The asset's population in the Hazus census variable of its row:
        residential NRES (DRES at 2 p.m.), commercial COMW, educational GRADE
        (COLLEGE at 5 p.m.), industrial INDW (people, >= 0).
    occupancy_class : sequence of str
        ``residential``, ``commercial``, ``educational`` or ``industrial``.

    Returns
    -------
    HazusOccupants
        ``indoor = population * fraction_present * indoor_fraction``,
        ``outdoor = population * fraction_present * (1 - indoor_fraction)``.
    """
    period = _period(time_of_day)
    if period == "avg":
        raise ValueError("time_of_day 'avg' is not a Hazus scenario; use 'night', 'day' or 'transit'")
    scenario = _PERIOD_TO_SCENARIO[period]
    pop = nonnegative("population", population)
    classes = tuple(c.lower() for c in labels("occupancy_class", occupancy_class, pop.size))
    table = hazus_population_distribution()
    known = sorted({k for k, _ in table})
    bad = sorted({c for c in classes if (c, scenario) not in table})
    if bad:
        raise ValueError(f"occupancy_class has values with no Hazus population distribution: {bad}; known: {known}")
    rows = [table[(c, scenario)] for c in classes]
    present = pop * np.array([r[1] for r in rows])
    indoor_share = np.array([r[2] for r in rows])
    return HazusOccupants(
        indoor=frozen(present * indoor_share),
        outdoor=frozen(present * (1.0 - indoor_share)),
        scenario=scenario,
        census_base=tuple(r[0] for r in rows),
    )
