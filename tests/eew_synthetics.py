"""Seeded synthetic network events for the early-warning tests and benchmark (tests only).

Network
    Stations ("structures") on a square grid of ``spacing_km`` (default
    12 km, inside the 10-15 km of the acceptance criterion), each moved by a
    uniform jitter of +-``jitter`` x spacing / 2, at sea level (elevation 0, so
    that ObsPy TauP, which has receivers at the surface, is an exact oracle),
    about ``CENTER = (113.0, 37.0)``.
Events
    Epicentre uniform over the network's inner area (one spacing inside the
    edge), depth uniform in [5, 20] km, moment magnitude uniform in [3, 6.5],
    origin time ``t0``.
Travel times (the truth)
    ``backend="taup"``: first arrivals (``ttp`` / ``tts`` phase lists) of ObsPy
    TauP in its built-in IASP91 model (spherical Earth) - an independent
    implementation of the model the locator uses as flat layers.  Computed on a
    table (epicentral distance every 2 km to 160 km, depth every 2.5 km from
    2.5 to 22.5 km) and interpolated linearly in depth and in distance on
    ``T^2`` versus ``distance^2`` (exact for a straight ray in one layer); the
    interpolation differs from TauP by < 0.03 s (kinks at the Pg/Pn crossover).
    ``backend="flat"``: our own flat-layer times (fast, for unit tests whose
    oracle is elsewhere).
Picks
    True P time plus Gaussian noise of ``pick_sigma_s`` (default 0.05 s).
Waveforms
    :func:`quakewatch.ext.stochastic.stochastic_ground_motion` (Boore 2003
    stochastic point source, P and S on E, N, Z) for the event's Mw, the
    station's epicentral distance and the event depth, shifted so that its P
    onset is the true P time, plus white noise of ``noise_mps2`` RMS.  (The
    stochastic model's own S-P time uses constant 6.0 / 3.5 km/s; only its P
    onset is aligned.)
Negative cases
    :func:`spikes` (single-station spikes at random times), :func:`burst`
    (many picks within 2 s from the channels of one structure) and
    :func:`teleseism` (a plane wave across the network with slowness
    0.03-0.07 s/km from a random back-azimuth).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from quakewatch.ext.layered_traveltime import travel_time
from quakewatch.ext.regional_location import StationPick, project, unproject
from quakewatch.ext.regional_velocity import load_velocity_model
from quakewatch.ext.stochastic import stochastic_ground_motion

CENTER = (113.0, 37.0)
FS_HZ = 100.0
_TAUP_DIST_KM = np.arange(0.0, 162.0, 2.0)
_TAUP_DEPTH_KM = np.arange(2.5, 25.0, 2.5)


@dataclass(frozen=True)
class Network:
    ids: tuple[str, ...]
    lon: np.ndarray
    lat: np.ndarray
    x_km: np.ndarray
    y_km: np.ndarray
    spacing_km: float

    @property
    def inventory(self) -> list[tuple[str, float, float, float]]:
        return [(s, float(lo), float(la), 0.0) for s, lo, la in zip(self.ids, self.lon, self.lat)]


@dataclass(frozen=True)
class Event:
    lon: float
    lat: float
    x_km: float
    y_km: float
    depth_km: float
    mw: float
    t0: float
    dist_km: np.ndarray  # epicentral distance to each station
    tp: np.ndarray  # true P arrival times
    ts: np.ndarray  # true S arrival times
    p_picks: tuple[StationPick, ...]  # noisy, sorted by time
    seed: int


def network(n_side: int = 8, spacing_km: float = 12.0, jitter: float = 0.3, seed: int = 0) -> Network:
    rng = np.random.default_rng([seed, 11])
    g = (np.arange(n_side) - (n_side - 1) / 2.0) * spacing_km
    gx, gy = np.meshgrid(g, g, indexing="ij")
    x = gx.ravel() + rng.uniform(-0.5, 0.5, gx.size) * jitter * spacing_km
    y = gy.ravel() + rng.uniform(-0.5, 0.5, gx.size) * jitter * spacing_km
    lon, lat = unproject(CENTER[0], CENTER[1], x * 1000.0, y * 1000.0)
    ids = tuple(f"S{i:03d}" for i in range(x.size))
    return Network(ids, np.asarray(lon), np.asarray(lat), x, y, spacing_km)


@functools.lru_cache(maxsize=2)
def _taup_table(phase: str) -> np.ndarray:
    """TauP IASP91 first arrivals (n_depth, n_dist)."""
    from obspy.geodetics import kilometer2degrees
    from obspy.taup import TauPyModel

    model = TauPyModel("iasp91")
    out = np.empty((_TAUP_DEPTH_KM.size, _TAUP_DIST_KM.size))
    for i, z in enumerate(_TAUP_DEPTH_KM):
        for j, d in enumerate(_TAUP_DIST_KM):
            arr = model.get_travel_times(source_depth_in_km=float(z), distance_in_degree=kilometer2degrees(float(d)),
                                         phase_list=["ttp" if phase == "P" else "tts"])
            out[i, j] = min(a.time for a in arr)
    return out


def taup_time(phase: str, depth_km: float, dist_km: np.ndarray) -> np.ndarray:
    """Interpolated TauP first-arrival time (module docstring)."""
    tab = _taup_table(phase)
    d = np.asarray(dist_km, dtype=np.float64)
    k = int(np.clip(np.searchsorted(_TAUP_DEPTH_KM, depth_km) - 1, 0, _TAUP_DEPTH_KM.size - 2))
    w = (depth_km - _TAUP_DEPTH_KM[k]) / (_TAUP_DEPTH_KM[k + 1] - _TAUP_DEPTH_KM[k])
    rows = []
    for r in (k, k + 1):
        rows.append(np.sqrt(np.interp(d * d, _TAUP_DIST_KM**2, tab[r] ** 2)))
    return np.asarray((1.0 - w) * rows[0] + w * rows[1])


def flat_time(phase: str, depth_km: float, dist_km: np.ndarray) -> np.ndarray:
    d = np.asarray(dist_km, dtype=np.float64) * 1000.0
    src = np.column_stack([d, np.zeros_like(d), np.full_like(d, -depth_km * 1000.0)])
    return np.asarray(travel_time(load_velocity_model(), src, np.zeros_like(src), phase))


def event(net: Network, seed: int, *, backend: str = "taup", t0: float = 1000.0, pick_sigma_s: float = 0.05,
          mw: float | None = None, depth_km: float | None = None, xy_km: tuple[float, float] | None = None) -> Event:
    rng = np.random.default_rng([seed, 23])
    lo = float(min(net.x_km.min(), net.y_km.min())) + net.spacing_km
    hi = float(max(net.x_km.max(), net.y_km.max())) - net.spacing_km
    ex, ey = rng.uniform(lo, hi, 2)
    z = rng.uniform(5.0, 20.0)
    m = rng.uniform(3.0, 6.5)
    if xy_km is not None:
        ex, ey = xy_km
    z = z if depth_km is None else depth_km
    m = m if mw is None else mw
    lon, lat = unproject(CENTER[0], CENTER[1], ex * 1000.0, ey * 1000.0)
    sx, sy = project(float(lon), float(lat), net.lon, net.lat)
    dist = np.hypot(sx, sy) / 1000.0
    tfun = taup_time if backend == "taup" else flat_time
    tp = t0 + tfun("P", z, dist)
    ts = t0 + tfun("S", z, dist)
    noisy = tp + rng.normal(0.0, pick_sigma_s, tp.size)
    order = np.argsort(noisy, kind="stable")
    picks = tuple(StationPick(net.ids[i], float(net.lon[i]), float(net.lat[i]), 0.0, float(noisy[i])) for i in order)
    return Event(float(lon), float(lat), float(ex), float(ey), float(z), float(m), t0, dist, tp, ts, picks, seed)


def waveform(ev: Event, station: int, *, duration_s: float = 40.0, pre_s: float = 10.0, noise_mps2: float = 1e-4,
             fs_hz: float = FS_HZ) -> tuple[np.ndarray, float]:
    """(acc (3, n) E/N/Z m/s^2, absolute time of the first sample); P onset at the true P time."""
    seed = int(ev.seed) * 1000 + station
    qm = stochastic_ground_motion(ev.mw, float(min(ev.dist_km[station], 500.0)), fs_hz,
                                  depth_km=ev.depth_km, seed=seed, pre_event_s=pre_s, duration_s=duration_s)
    rng = np.random.default_rng([seed, 5])
    acc = np.array(qm.acc_mps2, dtype=np.float64) + rng.normal(0.0, noise_mps2, qm.acc_mps2.shape)
    return acc, float(ev.tp[station]) - qm.p_arrival_s


def spikes(net: Network, seed: int, n: int, t_start: float, t_end: float) -> list[StationPick]:
    rng = np.random.default_rng([seed, 31])
    idx = rng.integers(0, len(net.ids), n)
    times = np.sort(rng.uniform(t_start, t_end, n))
    return [StationPick(net.ids[i], float(net.lon[i]), float(net.lat[i]), 0.0, float(t)) for i, t in zip(idx, times)]


def burst(net: Network, seed: int, station: int, n: int, t_start: float) -> list[StationPick]:
    rng = np.random.default_rng([seed, 37])
    times = np.sort(t_start + rng.uniform(0.0, 2.0, n))
    return [StationPick(net.ids[station], float(net.lon[station]), float(net.lat[station]), 0.0, float(t),
                        channel_id=f"ch{k % 12:02d}") for k, t in enumerate(times)]


def teleseism(net: Network, seed: int, t_start: float, pick_sigma_s: float = 0.05) -> list[StationPick]:
    rng = np.random.default_rng([seed, 41])
    baz = np.radians(rng.uniform(0.0, 360.0))
    s = rng.uniform(0.03, 0.07)
    # wave travels away from the back-azimuth: earlier where x . u(baz) is larger
    t = t_start - s * (net.x_km * np.sin(baz) + net.y_km * np.cos(baz))
    t = t - t.min() + t_start + rng.normal(0.0, pick_sigma_s, t.size)
    order = np.argsort(t, kind="stable")
    return [StationPick(net.ids[i], float(net.lon[i]), float(net.lat[i]), 0.0, float(t[i])) for i in order]
