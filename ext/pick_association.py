"""Streaming association of P picks from many structures into regional events.

Issue "[8] Regional association, rapid parameters and earthquake early
warning", association part.  :class:`PickAssociator` takes picks one at a time
(:meth:`PickAssociator.add`) and returns the candidate events that the pick
created or updated.  numpy and scipy only; deterministic (no random numbers,
ties broken by grid order and pick order); inputs are never modified; a pick
with a non-finite or out-of-range field raises :class:`ValueError` naming the
field and leaves the associator unchanged (a NaN amplitude is "no amplitude").

Stations
    ``StationPick.station_id`` names a structure: several channels of one
    structure count as one station.  An event holds at most one pick per
    station (the first one associated); later picks from the same structure
    that fit the event (other channels, the S wave, a repeated trigger) are
    absorbed into it without counting.  Hence a burst of picks confined to
    one structure never reaches ``min_stations`` distinct stations.
Nucleation (the new pick is the anchor) [JLH94]_ [Ku14]_
    The unassociated picks (one per station, the earliest) whose times are
    consistent with the anchor's (``|t_j - t_a| <= d_aj / v_min + tol``,
    ``v_min`` the slowest P speed of the model) are back-projected onto a
    fixed grid of trial hypocentres (``grid_spacing_km`` over a square of
    half-width ``radius_km`` about ``(center_lon, center_lat)``, depths
    ``grid_depths_km``): at each node the picks whose origin time
    ``t_j - T_j(node)`` is within ``nucleation_tolerance_s`` of the anchor's
    are counted (distinct stations).  The best node (most stations, then the
    least summed deviation, then grid order) with at least ``min_stations``
    gives the candidate pick set (the anchor and at most 7 coincident
    stations, nearest to the anchor first), which is located with
    :class:`~quakewatch.ext.regional_location.RegionalLocator`; picks whose
    residual exceeds ``association_tolerance_s`` are dropped one by one
    (largest first, relocating each time).  The candidate becomes an event
    when it keeps ``min_stations`` stations, RMS <= ``max_rms_s`` and passes
    the filters below.
Growth
    A pick at a station not yet in an event joins the event whose predicted P
    time it matches best within ``association_tolerance_s``; the event is
    relocated; the updated event is returned.  Unassociated picks that fit an
    event after a relocation are swept into it.
Filters against false events
    * minimum distinct stations (``min_stations``, default 4);
    * teleseisms and distant events: a plane wave ``t = t0 + s . x`` is fitted
      to the picks by least squares (:func:`plane_wave_fit`); if it explains
      them (RMS <= ``association_tolerance_s``) with slowness
      ``|s| < teleseism_slowness_s_per_km`` (default 0.08 s/km, apparent
      speed > 12.5 km/s, faster than any crustal or Pn wave, i.e. a steep
      teleseismic ray [Sh09]_) and either the local solution's epicentre is
      not inside the convex hull of the picked stations or the plane wave's
      RMS is below half the local solution's, the candidate is rejected.  (A
      deep local event under the network also has a fast apparent speed, but
      its epicentre is inside the hull and its hyperbolic move-out fits the
      local solution better than a plane.)
    * silent stations (when the station inventory is given): a candidate is
      rejected when more than half as many known stations as picked ones
      should have recorded its P wave ``silent_margin_s`` before the latest
      pick time and have not picked;
    * isolated spikes: a spike is one pick; it cannot be matched by
      ``min_stations - 1`` picks at other stations within the tolerances
      unless spikes coincide by chance the way a real wavefront does.
Expiry
    Picks older than ``window_s`` before the latest pick time seen are
    dropped, and events whose latest pick is older are closed (no longer
    updated).  Time never goes backwards: the latest time seen only grows.

References
----------
.. [JLH94] Johnson, C.E., Lindh, A. & Hirshorn, B. (1994). Robust regional
   phase association. USGS Open-File Report 94-621 (Earthworm binder: stacking
   picks back-projected onto a grid of trial hypocentres).
.. [Ku14] Kuyuk, H.S., Allen, R.M., Brown, H., Hellweg, M., Henson, I. &
   Neuhauser, D. (2014). Designing a network-based earthquake early warning
   algorithm for California: ElarmS-2. BSSA 104(1), 162-173 (pick-pair
   consistency, minimum station count, teleseism and spike filters).
.. [Sh09] Shearer, P.M. (2009). Introduction to Seismology, 2nd ed., ch. 4
   (ray parameter; apparent velocity of teleseismic P above ~12 km/s).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy.spatial import ConvexHull, QhullError

from .layered_traveltime import Phase, layer_speeds, positive, first_arrival_arrays
from .regional_location import RegionalLocation, RegionalLocator, StationPick, check_pick, project

__all__ = [
    "ASSOCIATION_ALGORITHM_VERSION",
    "CandidateEvent",
    "EventStatus",
    "PickAssociator",
    "PlaneWaveFit",
    "plane_wave_fit",
]

FloatArray = npt.NDArray[np.float64]

#: Bump when a definition in the module docstring changes (goes into provenance).
ASSOCIATION_ALGORITHM_VERSION: Final = "1"
_PLANE_BETTER: Final = 0.5  # a plane wave "explains the picks better" below this fraction of the local RMS
_MAX_SILENT_FRACTION: Final = 0.5  # silent stations allowed per picked station
_MAX_NUCLEATION_PICKS: Final = 8  # the anchor and its nearest coincident stations; growth adds the rest


class EventStatus(str, Enum):
    NEW = "new"
    UPDATED = "updated"


@dataclass(frozen=True, slots=True)
class PlaneWaveFit:
    """Least-squares plane wave ``t = t0 + s . x``: slowness (s/km), back-azimuth (deg), RMS (s)."""

    slowness_s_per_km: float
    backazimuth_deg: float
    rms_s: float


@dataclass(frozen=True, slots=True, eq=False)
class CandidateEvent:
    """An event as it stands after a pick (status: created or updated by that pick).

    ``picks`` has one pick per station (the counted ones), ``absorbed`` the
    further picks attributed to the event (other channels of a structure,
    S waves); ``location`` is the latest solution.
    """

    event_id: int
    status: EventStatus
    location: RegionalLocation
    picks: tuple[StationPick, ...]
    absorbed: tuple[StationPick, ...]
    n_stations: int
    plane_wave: PlaneWaveFit
    algorithm_version: str = ASSOCIATION_ALGORITHM_VERSION


def plane_wave_fit(x_km: npt.ArrayLike, y_km: npt.ArrayLike, t_s: npt.ArrayLike) -> PlaneWaveFit:
    """Plane wave fitted to arrival times at points (km) by least squares (needs 3 points not on a line).

    The back-azimuth is the direction the wave comes from (clockwise from north).
    Degenerate geometry gives ``inf`` RMS.
    """
    x = np.asarray(x_km, dtype=np.float64)
    y = np.asarray(y_km, dtype=np.float64)
    t = np.asarray(t_s, dtype=np.float64)
    if not (x.shape == y.shape == t.shape and x.ndim == 1):
        raise ValueError(f"x_km, y_km, t_s must be 1-D of one length, got {x.shape}, {y.shape}, {t.shape}")
    if x.size < 3 or not (np.isfinite(x).all() and np.isfinite(y).all() and np.isfinite(t).all()):
        return PlaneWaveFit(math.nan, math.nan, math.inf)
    a = np.column_stack([np.ones_like(x), x - x.mean(), y - y.mean()])
    coef, _, rank, _ = np.linalg.lstsq(a, t - t.mean(), rcond=None)
    if rank < 3:
        return PlaneWaveFit(math.nan, math.nan, math.inf)
    rms = float(np.sqrt(np.mean((a @ coef - (t - t.mean())) ** 2)))
    sx, sy = float(coef[1]), float(coef[2])
    return PlaneWaveFit(math.hypot(sx, sy), math.degrees(math.atan2(-sx, -sy)) % 360.0, rms)


def _inside_hull(px: float, py: float, pts: FloatArray) -> bool:
    if pts.shape[0] < 3:
        return False
    try:
        hull = ConvexHull(pts)
    except (QhullError, ValueError):
        return False
    return bool(np.all(hull.equations[:, :2] @ np.array([px, py]) + hull.equations[:, 2] <= 1e-9))


@dataclass(slots=True)
class _Station:
    lon: float
    lat: float
    elev: float
    x: float
    y: float
    tt_nodes: FloatArray


@dataclass(slots=True)
class _Event:
    event_id: int
    picks: dict[str, StationPick]
    absorbed: list[StationPick] = field(default_factory=list)
    location: RegionalLocation | None = None
    plane: PlaneWaveFit | None = None
    last_time: float = -math.inf
    closed: bool = False


class PickAssociator:
    """Streaming associator (module docstring for every rule).

    Parameters
    ----------
    center_lon, center_lat : float
        Centre of the monitored region (degrees).
    radius_km : float
        Half-width of the nucleation grid (default 120 km).
    locator : RegionalLocator, optional
        Default ``RegionalLocator()`` (IASP91 crust).
    stations : sequence of (station_id, lon, lat, elevation_m), optional
        Inventory for the silent-station filter.
    min_stations : int
        Distinct stations needed for an event (>= 3, default 4).
    grid_spacing_km, grid_depths_km
        Nucleation grid (default 5 km; depths 5, 12, 20 km).
    nucleation_tolerance_s, association_tolerance_s, max_rms_s : float
        Origin-time coincidence on the grid (default 1.5 s: the 5 km grid
        itself is off by up to ~0.8 s), residual tolerance of an associated
        pick (default 0.75 s), largest RMS of an event (default 0.4 s).
    window_s : float
        Expiry of picks and events (default 120 s).
    teleseism_slowness_s_per_km : float
        Plane-wave slowness below which a candidate outside the network is a teleseism (0.08).
    silent_margin_s : float
        Latency allowance of the silent-station filter (default 3 s).
    """

    def __init__(
        self,
        center_lon: float,
        center_lat: float,
        *,
        radius_km: float = 120.0,
        locator: RegionalLocator | None = None,
        stations: Sequence[tuple[str, float, float, float]] | None = None,
        min_stations: int = 4,
        grid_spacing_km: float = 5.0,
        grid_depths_km: Sequence[float] = (5.0, 12.0, 20.0),
        nucleation_tolerance_s: float = 1.5,
        association_tolerance_s: float = 0.75,
        max_rms_s: float = 0.4,
        window_s: float = 120.0,
        teleseism_slowness_s_per_km: float = 0.08,
        silent_margin_s: float = 3.0,
    ) -> None:
        lon0, lat0 = float(center_lon), float(center_lat)
        if not (math.isfinite(lon0) and abs(lon0) <= 180.0):
            raise ValueError(f"center_lon must be finite and within [-180, 180], got {center_lon!r}")
        if not (math.isfinite(lat0) and abs(lat0) <= 89.0):
            raise ValueError(f"center_lat must be finite and within [-89, 89], got {center_lat!r}")
        if isinstance(min_stations, bool) or not isinstance(min_stations, int) or min_stations < 3:
            raise ValueError(f"min_stations must be an integer >= 3, got {min_stations!r}")
        self.center = (lon0, lat0)
        self.radius_km = positive("radius_km", radius_km)
        self.locator = RegionalLocator() if locator is None else locator
        self.min_stations = min_stations
        spacing = positive("grid_spacing_km", grid_spacing_km)
        depths = np.array([float(d) for d in grid_depths_km])
        if depths.size == 0 or not np.all(np.isfinite(depths)) or np.any(depths < 0.0):
            raise ValueError(f"grid_depths_km must be finite, >= 0 and not empty, got {list(grid_depths_km)}")
        n_side = math.floor(self.radius_km / spacing)
        if (2 * n_side + 1) ** 2 * depths.size > 400_000:
            raise ValueError("radius_km / grid_spacing_km gives more than 400000 grid nodes; raise grid_spacing_km")
        self.tol_nuc = positive("nucleation_tolerance_s", nucleation_tolerance_s)
        self.tol = positive("association_tolerance_s", association_tolerance_s)
        self.max_rms_s = positive("max_rms_s", max_rms_s)
        self.window_s = positive("window_s", window_s)
        self.tele_slowness = positive("teleseism_slowness_s_per_km", teleseism_slowness_s_per_km)
        self.silent_margin_s = positive("silent_margin_s", silent_margin_s)
        axis = np.arange(-n_side, n_side + 1) * spacing * 1000.0
        gx, gy, gd = np.meshgrid(axis, axis, depths * 1000.0, indexing="ij")
        self._gx, self._gy, self._gd = gx.ravel(), gy.ravel(), gd.ravel()
        self._v_min = float(np.min(layer_speeds(self.locator.model, Phase.P)[1]))
        self._stations: dict[str, _Station] = {}
        self._inventory: tuple[str, ...] = ()
        if stations is not None:
            for i, row in enumerate(stations):
                if len(row) != 4:
                    raise ValueError(f"stations[{i}] must be (station_id, lon, lat, elevation_m), got {row!r}")
                sid, lo, la, el = row
                pk = check_pick(i, StationPick(sid, lo, la, el, 0.0))
                self._station(pk)
            self._inventory = tuple(self._stations)
        self._free: list[StationPick] = []
        self._events: dict[int, _Event] = {}
        self._next_id = 1
        self.latest_time_s = -math.inf

    # ------------------------------------------------------------ helpers

    def _station(self, pk: StationPick) -> _Station:
        st = self._stations.get(pk.station_id)
        if st is None:
            x, y = project(self.center[0], self.center[1], pk.lon_deg, pk.lat_deg)
            dist = np.hypot(self._gx - float(x), self._gy - float(y))
            tt = self.locator.grid_travel_time(Phase.P, dist, self._gd, float(pk.elevation_m))
            st = _Station(float(pk.lon_deg), float(pk.lat_deg), float(pk.elevation_m), float(x), float(y), tt)
            self._stations[pk.station_id] = st
        elif abs(st.lon - pk.lon_deg) > 1e-6 or abs(st.lat - pk.lat_deg) > 1e-6 or abs(st.elev - pk.elevation_m) > 1.0:
            raise ValueError(f"station_id {pk.station_id!r}: coordinates differ from the ones first seen "
                             f"({st.lon}, {st.lat}, {st.elev} m)")
        return st

    def _predict_many(self, loc: RegionalLocation, stations: Sequence[_Station], phase: Phase) -> FloatArray:
        """Predicted arrival times of ``phase`` at ``stations`` (exact travel times)."""
        sx, sy = project(loc.center_lon_deg, loc.center_lat_deg, [s.lon for s in stations], [s.lat for s in stations])
        rcv = np.column_stack([sx, sy, [s.elev for s in stations]])
        src = np.broadcast_to(np.array([loc.x_m, loc.y_m, -loc.depth_km * 1000.0]), rcv.shape)
        out: FloatArray = loc.origin_time_s + first_arrival_arrays(self.locator.model, phase, src, rcv)[0]
        return out

    def _predict(self, loc: RegionalLocation, st: _Station, phase: Phase) -> float:
        return float(self._predict_many(loc, [st], phase)[0])

    def _validate(self, pick: object) -> StationPick:
        pk = check_pick(0, pick)
        t = float(pk.time_s)
        if not math.isfinite(t):
            raise ValueError(f"pick.time_s must be finite, got {pk.time_s!r}")
        if pk.sigma_s is not None:
            positive("pick.sigma_s", pk.sigma_s)
        if str(getattr(pk.phase, "value", pk.phase)) != "P":
            raise ValueError(f"pick.phase must be 'P' for association, got {pk.phase!r}")
        return pk

    def _expire(self) -> None:
        horizon = self.latest_time_s - self.window_s
        self._free = [p for p in self._free if p.time_s >= horizon]
        for ev in self._events.values():
            if ev.last_time < horizon:
                ev.closed = True
        self._events = {k: v for k, v in self._events.items() if not v.closed}

    def _candidate_ok(self, picks: list[StationPick], initial: RegionalLocation | None = None
                      ) -> tuple[RegionalLocation, PlaneWaveFit, list[StationPick]] | None:
        """Locate, prune misfits, apply the filters; None when the candidate fails."""
        picks = list(picks)
        while len(picks) >= self.min_stations:
            loc = self.locator.locate(picks, center=self.center, initial=initial)
            initial = loc
            res = np.abs(np.asarray(loc.residuals_s))
            if int(np.sum(res <= self.tol)) < self.min_stations:
                return None
            worst = int(np.argmax(res))
            if res[worst] > self.tol:
                del picks[worst]
                continue
            if loc.rms_s > self.max_rms_s:
                return None
            st = [self._stations[p.station_id] for p in picks]
            xs = np.array([s.x for s in st]) / 1000.0
            ys = np.array([s.y for s in st]) / 1000.0
            plane = plane_wave_fit(xs, ys, np.array([p.time_s for p in picks]))
            inside = _inside_hull(loc.x_m / 1000.0, loc.y_m / 1000.0, np.column_stack([xs, ys]))
            if (plane.rms_s <= self.tol and plane.slowness_s_per_km < self.tele_slowness
                    and (not inside or plane.rms_s < _PLANE_BETTER * loc.rms_s)):
                return None
            if self._inventory and self._silent(loc, {p.station_id for p in picks}) > _MAX_SILENT_FRACTION * len(picks):
                return None
            return loc, plane, picks
        return None

    def _silent(self, loc: RegionalLocation, picked: set[str]) -> int:
        free = {p.station_id for p in self._free}
        quiet = [sid for sid in self._inventory if sid not in picked and sid not in free]
        if not quiet:
            return 0
        t = self._predict_many(loc, [self._stations[sid] for sid in quiet], Phase.P)
        return int(np.sum(t < self.latest_time_s - self.silent_margin_s))

    def _snapshot(self, ev: _Event, status: EventStatus) -> CandidateEvent:
        if ev.location is None or ev.plane is None:
            raise RuntimeError("event without a location")
        picks = tuple(sorted(ev.picks.values(), key=lambda p: (p.time_s, p.station_id)))
        return CandidateEvent(ev.event_id, status, ev.location, picks, tuple(ev.absorbed), len(picks), ev.plane)

    def _fits(self, ev: _Event, pk: StationPick) -> tuple[bool, float]:
        """(absorbed-or-joined, |residual|) of ``pk`` against ``ev``; inf when it does not fit."""
        if ev.location is None:
            return False, math.inf
        st = self._stations[pk.station_id]
        r_p = abs(pk.time_s - self._predict(ev.location, st, Phase.P))
        if pk.station_id in ev.picks:
            return True, r_p if r_p <= self.tol else math.inf
        if r_p <= self.tol:
            return False, r_p
        return False, math.inf

    def _absorbs_as_s(self, ev: _Event, pk: StationPick) -> bool:
        if ev.location is None:
            return False
        try:
            t_s = self._predict(ev.location, self._stations[pk.station_id], Phase.S)
        except ValueError:
            return False
        return abs(pk.time_s - t_s) <= self.tol or (pk.station_id in ev.picks and pk.time_s > ev.picks[pk.station_id].time_s)

    def _update(self, ev: _Event) -> bool:
        got = self._candidate_ok(list(ev.picks.values()), ev.location)
        if got is None:
            return False
        ev.location, ev.plane, kept = got
        dropped = [p for sid, p in ev.picks.items() if all(k.station_id != sid for k in kept)]
        ev.picks = {p.station_id: p for p in kept}
        self._free.extend(dropped)
        ev.last_time = max(p.time_s for p in kept)
        return True

    def _sweep(self, ev: _Event) -> None:
        changed = True
        while changed:
            changed = False
            for p in sorted(self._free, key=lambda q: (q.time_s, q.station_id)):
                same, r = self._fits(ev, p)
                if same and math.isfinite(r):
                    ev.absorbed.append(p)
                    self._free.remove(p)
                elif not same and math.isfinite(r):
                    ev.picks[p.station_id] = p
                    self._free.remove(p)
                    if not self._update(ev):
                        del ev.picks[p.station_id]
                        self._free.append(p)
                        continue
                    changed = True
                    break

    # ------------------------------------------------------------ public

    @property
    def events(self) -> tuple[CandidateEvent, ...]:
        """The open events, by id."""
        return tuple(self._snapshot(self._events[k], EventStatus.UPDATED) for k in sorted(self._events))

    def add(self, pick: StationPick) -> list[CandidateEvent]:
        """Take one P pick; return the events it created or updated (possibly none)."""
        pk = self._validate(pick)
        self._station(pk)
        self.latest_time_s = max(self.latest_time_s, float(pk.time_s))
        self._expire()
        if pk.time_s < self.latest_time_s - self.window_s:
            return []
        # 1. growth of an existing event
        best: tuple[float, int, bool] | None = None
        for eid in sorted(self._events):
            ev = self._events[eid]
            same, r = self._fits(ev, pk)
            if math.isfinite(r) and (best is None or r < best[0]):
                best = (r, eid, same)
        if best is not None:
            ev = self._events[best[1]]
            if best[2]:
                ev.absorbed.append(pk)
                return []
            ev.picks[pk.station_id] = pk
            if self._update(ev):
                self._sweep(ev)
                return [self._snapshot(ev, EventStatus.UPDATED)]
            del ev.picks[pk.station_id]
        for eid in sorted(self._events):
            if self._absorbs_as_s(self._events[eid], pk):
                self._events[eid].absorbed.append(pk)
                return []
        # 2. nucleation with the new pick as anchor
        self._free.append(pk)
        ev_new = self._nucleate(pk)
        return [] if ev_new is None else [self._snapshot(ev_new, EventStatus.NEW)]

    def _nucleate(self, anchor: StationPick) -> _Event | None:
        sa = self._stations[anchor.station_id]
        first: dict[str, StationPick] = {}
        for p in sorted(self._free, key=lambda q: (q.time_s, q.station_id)):
            if p.station_id == anchor.station_id or p.station_id in first:
                continue
            s = self._stations[p.station_id]
            d_km = math.hypot(s.x - sa.x, s.y - sa.y) / 1000.0
            if abs(p.time_s - anchor.time_s) <= d_km / (self._v_min / 1000.0) + self.tol:
                first[p.station_id] = p
        if len(first) + 1 < self.min_stations:
            return None
        others = list(first.values())
        o_a = anchor.time_s - sa.tt_nodes
        tt = np.stack([self._stations[p.station_id].tt_nodes for p in others], axis=1)
        dev = np.abs(np.array([p.time_s for p in others])[None, :] - tt - o_a[:, None])
        hit = dev <= self.tol_nuc
        count = 1 + hit.sum(axis=1)
        top = int(count.max())
        if top < self.min_stations:
            return None
        cand = np.flatnonzero(count == top)
        spread = np.where(hit[cand], dev[cand], 0.0).sum(axis=1)
        node = int(cand[int(np.argmin(spread))])
        chosen = [p for p, h in zip(others, hit[node]) if h]
        chosen.sort(key=lambda p: (math.hypot(self._stations[p.station_id].x - sa.x, self._stations[p.station_id].y - sa.y),
                                   p.station_id))
        chosen = [anchor] + chosen[:_MAX_NUCLEATION_PICKS - 1]
        st = [self._stations[p.station_id] for p in chosen]
        xy = np.array([[s.x, s.y] for s in st]) / 1000.0
        plane = plane_wave_fit(xy[:, 0], xy[:, 1], np.array([p.time_s for p in chosen]))
        if (plane.rms_s <= self.tol and plane.slowness_s_per_km < self.tele_slowness
                and not _inside_hull(self._gx[node] / 1000.0, self._gy[node] / 1000.0, xy)):
            return None  # a plane wave from outside the network: no location needed
        got = self._candidate_ok(chosen)
        if got is None:
            return None
        loc, plane, kept = got
        ev = _Event(self._next_id, {p.station_id: p for p in kept}, location=loc, plane=plane,
                    last_time=max(p.time_s for p in kept))
        self._next_id += 1
        ids = {id(p) for p in kept}
        self._free = [p for p in self._free if id(p) not in ids]
        self._events[ev.event_id] = ev
        self._sweep(ev)
        return ev
