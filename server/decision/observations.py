"""Observed ground motion for loss estimates: the free-field records of detected events.

Every closed event of [2] (``analysis/events.py``) classified as an earthquake
carries per-station GB/T 17742 metrics; stations at ground level
(``free_field``) measure the ground motion a loss model needs.  One
observation per structure and IMT: the structure's largest event in the
window, the geometric mean over its free-field stations, placed at the
structure's registered coordinates.  PGA in g and PGV in cm/s, the units of
the ground-motion models (:mod:`quakewatch.ext.gmpe`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sqlalchemy.engine import Engine
from sqlmodel import Session

from quakewatch.v1 import events_pb2

from ..analysis import store
from ..storage.models import Structure
from ..storage.tokens import Principal

__all__ = ["Observations", "observed_in_window", "registered_locations"]

G_MPS2 = 9.80665
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Observations:
    """Observed IM values: ``lon``, ``lat`` (degrees), ``imt`` ("PGA" / "PGV"), ``value``
    (g or cm/s), ``sigma`` (ln units) and where each came from (``source``)."""

    lon: FloatArray
    lat: FloatArray
    imt: npt.NDArray[np.str_]
    value: FloatArray
    sigma: FloatArray
    source: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.value.size)


def _free_field(event: events_pb2.Event) -> tuple[float, float] | None:
    ff = [s for s in event.stations if s.free_field and s.pga_mps2 > 0 and s.pgv_mps > 0]
    if not ff:
        return None
    pga = float(np.exp(np.mean([np.log(s.pga_mps2 / G_MPS2) for s in ff])))
    pgv = float(np.exp(np.mean([np.log(s.pgv_mps * 100.0) for s in ff])))
    return pga, pgv


def observed_in_window(engine: Engine, p: Principal, start_ns: int, end_ns: int) -> Observations:
    """Free-field observations of the closed earthquake events ``p`` may read in [start, end)."""
    best: dict[str, tuple[float, float, str]] = {}
    token = ""
    while True:
        events, token = store.list_events(engine, p, start_ns=start_ns, end_ns=end_ns, page_size=500,
                                          page_token=token)
        for ev in events:
            if ev.state != events_pb2.EVENT_STATE_CLOSED or ev.classification != events_pb2.EVENT_CLASS_EARTHQUAKE:
                continue
            values = _free_field(ev)
            if values is not None and values[0] > best.get(ev.structure_id, (0.0, 0.0, ""))[0]:
                best[ev.structure_id] = (*values, ev.event_id)
        if not token:
            break
    lon, lat, imt, value, source = [], [], [], [], []
    with Session(engine) as session:
        for structure_id, (pga, pgv, event_id) in sorted(best.items()):
            row = session.get(Structure, structure_id)
            if row is None or not row.has_location:  # a record with no place on the map conditions nothing
                continue
            for name, v in (("PGA", pga), ("PGV", pgv)):
                lon.append(row.longitude_deg)
                lat.append(row.latitude_deg)
                imt.append(name)
                value.append(v)
                source.append(f"{structure_id}/{event_id}")
    return Observations(np.array(lon, dtype=np.float64), np.array(lat, dtype=np.float64), np.array(imt, dtype=str),
                        np.array(value, dtype=np.float64), np.zeros(len(value)), tuple(source))


def registered_locations(engine: Engine, p: Principal) -> dict[str, tuple[float, float]]:
    """(lon, lat) of every structure ``p`` may read that has a registered location."""
    from sqlmodel import select

    with Session(engine) as session:
        q = select(Structure)
        if p.tenant is not None:
            q = q.where(Structure.tenant == p.tenant)
        return {s.structure_id: (s.longitude_deg, s.latitude_deg) for s in session.exec(q) if s.has_location}
