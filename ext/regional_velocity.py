"""1-D crustal velocity models for regional location, as data files with their sources.

Issue "[8] Regional association, rapid parameters and earthquake early warning".
A model is a stack of flat layers of constant speed read from
``data/velocity_models/<name>.csv`` (columns ``model, depth_top_km, vp_kmps,
vs_kmps, source``; ``#`` lines are the file's header with the citation) and
returned as the :class:`~quakewatch.ext.layered_traveltime.LayeredVelocity` that
:mod:`quakewatch.ext.layered_traveltime` computes first arrivals (direct ray and
head waves, exact gradients) for.  Depths are below sea level
(``reference_elevation_m = 0``): a station at elevation ``e`` metres sits ``e``
above the top of the first layer, which extends upwards to it.

Models
    ``iasp91``: crust and uppermost mantle of IASP91 [KE91]_ (5.80 / 6.50 km/s
    crust over an 8.04 km/s mantle, Moho at 35 km), the mantle gradient
    neglected (stated in the file).  No Chinese regional model is shipped: its
    layer values could not be confirmed from a citable primary source; add one
    as another CSV with its source in the header.

Limits (flat Earth)
    No earth-flattening transformation is applied.  The flat-layer
    first-arrival times agree with the spherical IASP91 times of ObsPy TauP
    [CR+99]_ (sources 0.5-30 km deep, receivers at sea level) to better than
    0.05 s for P up to 100 km epicentral distance, 0.1 s for P (Pn) up to
    150 km and 0.1 s for S up to 100 km; they are late by 0.16 s for S at
    150 km and 0.12 s for P at 200 km (the neglected mantle gradient and the
    curvature; checked in ``tests/test_regional_location.py``);
    beyond that the Earth's curvature makes flat-layer Pn times increasingly
    late (Shearer 2009, sec. 4.4) and the model must not be used for location.
    :data:`MAX_EPICENTRAL_DISTANCE_KM` states the limit.

References
----------
.. [KE91] Kennett, B.L.N. & Engdahl, E.R. (1991). Traveltimes for global
   earthquake location and phase identification. Geophys. J. Int. 105(2), 429-465.
.. [CR+99] Crotwell, H.P., Owens, T.J. & Ritsema, J. (1999). The TauP toolkit:
   flexible seismic travel-time and ray-path utilities. Seismol. Res. Lett. 70(2),
   154-160 (the ObsPy ``obspy.taup`` port is the test oracle).
"""

from __future__ import annotations

import csv
import functools
import math
from dataclasses import dataclass
from importlib import resources
from typing import Final

from .layered_traveltime import LayeredVelocity

__all__ = [
    "DEFAULT_VELOCITY_MODEL",
    "MAX_EPICENTRAL_DISTANCE_KM",
    "VelocityModelInfo",
    "available_velocity_models",
    "load_velocity_model",
    "velocity_model_info",
]

#: Name of the default model.
DEFAULT_VELOCITY_MODEL: Final = "iasp91"
#: Flat-layer travel times are used up to this epicentral distance (see the module docstring).
MAX_EPICENTRAL_DISTANCE_KM: Final = 150.0
_PACKAGE: Final = "quakewatch.ext"
_FOLDER: Final = ("data", "velocity_models")


@dataclass(frozen=True, slots=True)
class VelocityModelInfo:
    """A model as read: layer tops (km below sea level), speeds (km/s), sources, header."""

    name: str
    depth_top_km: tuple[float, ...]
    vp_kmps: tuple[float, ...]
    vs_kmps: tuple[float, ...]
    sources: tuple[str, ...]
    header: str


def available_velocity_models() -> tuple[str, ...]:
    """Names of the shipped models (file stems under ``data/velocity_models``)."""
    folder = resources.files(_PACKAGE).joinpath(*_FOLDER)
    return tuple(sorted(p.name[:-4] for p in folder.iterdir() if p.name.endswith(".csv")))


@functools.lru_cache(maxsize=None)
def velocity_model_info(name: str = DEFAULT_VELOCITY_MODEL) -> VelocityModelInfo:
    """Read and check ``data/velocity_models/<name>.csv``."""
    if name not in available_velocity_models():
        raise ValueError(f"name must be one of {list(available_velocity_models())}, got {name!r}")
    text = resources.files(_PACKAGE).joinpath(*_FOLDER, f"{name}.csv").read_text(encoding="utf-8")
    header = "\n".join(ln[1:].strip() for ln in text.splitlines() if ln.startswith("#"))
    rows = list(csv.DictReader(ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")))
    if not rows:
        raise ValueError(f"data/velocity_models/{name}.csv: no layers")
    tops, vp, vs, src = [], [], [], []
    for i, row in enumerate(rows):
        try:
            t, p, s = float(row["depth_top_km"]), float(row["vp_kmps"]), float(row["vs_kmps"])
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"data/velocity_models/{name}.csv: row {i}: depth_top_km, vp_kmps, vs_kmps must be numbers") from None
        if not (math.isfinite(t) and 0.0 < s < p < 20.0):
            raise ValueError(f"data/velocity_models/{name}.csv: row {i}: need finite depth and 0 < vs < vp < 20 km/s")
        tops.append(t)
        vp.append(p)
        vs.append(s)
        src.append(row.get("source") or "")
    if tops[0] != 0.0 or any(b <= a for a, b in zip(tops, tops[1:])):
        raise ValueError(f"data/velocity_models/{name}.csv: depth_top_km must start at 0 and increase strictly")
    return VelocityModelInfo(name, tuple(tops), tuple(vp), tuple(vs), tuple(src), header)


def load_velocity_model(name: str = DEFAULT_VELOCITY_MODEL) -> LayeredVelocity:
    """The flat-layered model ``name`` in metres and m/s for :mod:`~quakewatch.ext.layered_traveltime`.

    Parameters
    ----------
    name : str
        One of :func:`available_velocity_models` (default ``"iasp91"``).

    Returns
    -------
    LayeredVelocity
        Interfaces at the layer tops below the first (m below sea level),
        ``reference_elevation_m = 0``.
    """
    info = velocity_model_info(name)
    return LayeredVelocity(
        interface_depths_m=tuple(1000.0 * t for t in info.depth_top_km[1:]),
        vp_mps=tuple(1000.0 * v for v in info.vp_kmps),
        vs_mps=tuple(1000.0 * v for v in info.vs_kmps),
        reference_elevation_m=0.0,
    )
