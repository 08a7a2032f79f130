"""First-arrival travel times in constant and flat-layered velocity models (mine arrays, regional networks).

Issue "[7] Mine seismic monitoring", part of :mod:`quakewatch.ext.mine_location`
(whose docstring gives the ray theory and references): the direct ray and every
head wave of a stack of flat layers, the earliest wins; exact gradients for the
location's Jacobian.  numpy only; inputs are never modified.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = ["ConstantVelocity", "LayeredVelocity", "Model", "Phase", "as_points", "first_arrival_arrays", "layer_speeds",
           "parse_phase", "positive", "travel_time", "travel_time_gradient"]

FloatArray = npt.NDArray[np.float64]

_NEWTON_TOL: Final = 1e-10  # relative to the path length
_MAX_NEWTON: Final = 60


class Phase(str, Enum):
    P = "P"
    S = "S"


def positive(name: str, value: float) -> float:
    """``value`` as a finite float > 0, else ``ValueError`` naming ``name``."""
    v = float(value)
    if not math.isfinite(v) or v <= 0.0:
        raise ValueError(f"{name} must be finite and > 0, got {value!r}")
    return v


def _speeds(name: str, values: Sequence[float] | None, n: int | None = None) -> tuple[float, ...] | None:
    if values is None:
        return None
    out = tuple(positive(f"{name}[{i}]", v) for i, v in enumerate(values))
    if n is not None and len(out) != n:
        raise ValueError(f"{name} must have {n} values (one per layer), got {len(out)}")
    return out


@dataclass(frozen=True, slots=True)
class ConstantVelocity:
    """Homogeneous medium: P speed and, for S picks, S speed (m/s)."""

    vp_mps: float
    vs_mps: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "vp_mps", positive("vp_mps", self.vp_mps))
        if self.vs_mps is not None:
            object.__setattr__(self, "vs_mps", positive("vs_mps", self.vs_mps))


@dataclass(frozen=True, slots=True)
class LayeredVelocity:
    """Flat layers of constant speed.

    ``interface_depths_m`` (strictly increasing, metres below
    ``reference_elevation_m``) separate ``len(vp_mps)`` layers; the top layer
    extends upwards and the bottom one downwards without limit.
    """

    interface_depths_m: tuple[float, ...]
    vp_mps: tuple[float, ...]
    vs_mps: tuple[float, ...] | None = None
    reference_elevation_m: float = 0.0

    def __post_init__(self) -> None:
        depths = tuple(float(d) for d in self.interface_depths_m)
        if not all(math.isfinite(d) for d in depths) or any(b <= a for a, b in itertools.pairwise(depths)):
            raise ValueError(f"interface_depths_m must be finite and strictly increasing, got {depths}")
        vp = _speeds("vp_mps", self.vp_mps, len(depths) + 1)
        vs = _speeds("vs_mps", self.vs_mps, len(depths) + 1)
        ref = float(self.reference_elevation_m)
        if not math.isfinite(ref):
            raise ValueError(f"reference_elevation_m must be finite, got {ref}")
        object.__setattr__(self, "interface_depths_m", depths)
        object.__setattr__(self, "vp_mps", vp)
        object.__setattr__(self, "vs_mps", vs)
        object.__setattr__(self, "reference_elevation_m", ref)


Model = ConstantVelocity | LayeredVelocity


def layer_speeds(model: Model, phase: Phase) -> tuple[FloatArray, FloatArray]:
    """Interface depths (L-1,) and speeds (L,) of ``phase``."""
    if isinstance(model, ConstantVelocity):
        v = model.vp_mps if phase is Phase.P else model.vs_mps
        speeds: tuple[float, ...] | None = None if v is None else (v,)
        interfaces: tuple[float, ...] = ()
    else:
        speeds = model.vp_mps if phase is Phase.P else model.vs_mps
        interfaces = model.interface_depths_m
    if speeds is None:
        raise ValueError("model: S picks need S speeds (vs_mps)")
    return np.asarray(interfaces, dtype=np.float64), np.asarray(speeds, dtype=np.float64)


def _thickness(interfaces: FloatArray, top: FloatArray, bottom: FloatArray) -> FloatArray:
    """Thickness (N, L) of each layer between depths ``top <= bottom`` (N,)."""
    tops = np.concatenate(([-np.inf], interfaces))
    bots = np.concatenate((interfaces, [np.inf]))
    h = np.minimum(bottom[:, None], bots[None, :]) - np.maximum(top[:, None], tops[None, :])
    out: FloatArray = np.maximum(h, 0.0)
    return out


def _direct(
    interfaces: FloatArray, v: FloatArray, d_src: FloatArray, d_rcv: FloatArray, x: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Direct (transmitted) ray: time, ``p``, ``dT/dd_src`` by eq. (1)-(2)."""
    a = np.minimum(d_src, d_rcv)
    b = np.maximum(d_src, d_rcv)
    h = _thickness(interfaces, a, b)
    crossed = h > 0.0
    vmax = np.max(np.where(crossed, v, 0.0), axis=1)
    flat = vmax == 0.0  # both at one depth: a horizontal straight ray
    vmax = np.where(flat, v[np.searchsorted(interfaces, a, side="right")], vmax)
    r = v[None, :] / vmax[:, None]
    q = np.where(crossed, 1.0 - r * r, 0.0)
    hr = h * r
    u = np.zeros_like(x)
    tol = _NEWTON_TOL * (x + b - a) + 1e-12
    live = ~flat & (x > 0.0)
    for _ in range(_MAX_NEWTON):
        w = 1.0 + (u * u)[:, None] * q
        sw = np.sqrt(w)
        g = np.sum(hr * u[:, None] / sw, axis=1) - x
        if not np.any(live & (np.abs(g) > tol)):
            break
        dg = np.sum(hr / (w * sw), axis=1)
        u = np.where(live, u - g / np.where(live, dg, 1.0), u)
    u2 = u * u
    cos = np.sqrt((1.0 + u2[:, None] * q) / (1.0 + u2[:, None]))
    eta = cos / v[None, :]
    p = u / np.sqrt(1.0 + u2) / vmax
    t = p * x + np.sum(h * eta, axis=1)
    t = np.where(flat, x / vmax, t)
    p = np.where(flat, 1.0 / vmax, p)
    rows = np.arange(x.size)
    down = d_src < d_rcv
    eta_dn = eta[rows, np.searchsorted(interfaces, d_src, side="right")]
    eta_up = eta[rows, np.searchsorted(interfaces, d_src, side="left")]
    g_d = np.where(down, -eta_dn, np.where(d_src > d_rcv, eta_up, 0.0))
    return t, p, g_d


def _first_arrival(
    interfaces: FloatArray, v: FloatArray, d_src: FloatArray, d_rcv: FloatArray, x: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Least of the direct ray and all head waves: time, ``dT/dX``, ``dT/dd_src``."""
    t, p, g_d = _direct(interfaces, v, d_src, d_rcv, x)
    a = np.minimum(d_src, d_rcv)
    b = np.maximum(d_src, d_rcv)
    lay_dn = np.searchsorted(interfaces, d_src, side="right")
    lay_up = np.searchsorted(interfaces, d_src, side="left")
    for j in range(1, v.size):
        zj = np.full_like(x, interfaces[j - 1])
        for below in (True, False):
            if below:  # refractor under interface j, both points above it
                side = b <= zj
                legs = _thickness(interfaces, a, zj) + _thickness(interfaces, b, zj)
                vr = v[j]
            else:  # refractor over interface j, both points below it
                side = a >= zj
                legs = _thickness(interfaces, zj, a) + _thickness(interfaces, zj, b)
                vr = v[j - 1]
            if not np.any(side):
                continue
            slower = v < vr
            ok = side & ~np.any((legs > 0.0) & ~slower[None, :], axis=1)
            rr = np.where(slower, v / vr, 0.0)
            cq = np.sqrt(1.0 - rr * rr)
            eta = cq / v
            xc = np.sum(legs * (rr / cq), axis=1)
            th = x / vr + np.sum(legs * eta, axis=1)
            if below:
                gh = np.where(lay_dn < j, -eta[np.minimum(lay_dn, v.size - 1)], 0.0)
            else:
                gh = np.where(lay_up >= j, eta[lay_up], 0.0)
            better = ok & (x >= xc) & (th < t)
            t = np.where(better, th, t)
            p = np.where(better, 1.0 / vr, p)
            g_d = np.where(better, gh, g_d)
    return t, p, g_d


def first_arrival_arrays(model: Model, phase: Phase, src: FloatArray, rcv: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Travel time (N,) and its gradient w.r.t. the source position (N, 3), for
    already validated float64 arrays ``src`` and ``rcv`` of shape (N, 3) (the
    locators' inner loop; :func:`travel_time` is the checked entry point)."""
    interfaces, v = layer_speeds(model, phase)
    diff = src - rcv
    if v.size == 1:
        dist = np.sqrt(np.sum(diff * diff, axis=-1))
        with np.errstate(invalid="ignore", divide="ignore"):
            grad = np.where(dist[..., None] > 0.0, diff / (dist[..., None] * v[0]), 0.0)
        return dist / v[0], grad
    xh = np.hypot(diff[..., 0], diff[..., 1])
    ref = model.reference_elevation_m if isinstance(model, LayeredVelocity) else 0.0
    shape = xh.shape
    t, p, g_d = _first_arrival(
        interfaces, v, (ref - src[..., 2]).ravel(), (ref - rcv[..., 2]).ravel(), xh.ravel()
    )
    t, p, g_d = t.reshape(shape), p.reshape(shape), g_d.reshape(shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        ux = np.where(xh > 0.0, diff[..., 0] / xh, 0.0)
        uy = np.where(xh > 0.0, diff[..., 1] / xh, 0.0)
    return t, np.stack([p * ux, p * uy, -g_d], axis=-1)


def as_points(name: str, xyz: npt.ArrayLike) -> FloatArray:
    """A float64 copy of points of shape (..., 3), finite, else ``ValueError`` naming ``name``."""
    a = np.array(xyz, dtype=np.float64)  # a copy: callers' arrays are never touched
    if a.ndim == 0 or a.shape[-1] != 3:
        raise ValueError(f"{name} must have shape (..., 3) (east, north, up in m), got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite")
    return a


def travel_time(
    model: Model, source_xyz_m: npt.ArrayLike, receiver_xyz_m: npt.ArrayLike, phase: Phase | str = Phase.P
) -> FloatArray:
    """First-arrival time (s) from sources to receivers, shapes (..., 3) broadcast."""
    src, rcv = np.broadcast_arrays(as_points("source_xyz_m", source_xyz_m), as_points("receiver_xyz_m", receiver_xyz_m))
    return first_arrival_arrays(model, parse_phase("phase", phase), src, rcv)[0]


def travel_time_gradient(
    model: Model, source_xyz_m: npt.ArrayLike, receiver_xyz_m: npt.ArrayLike, phase: Phase | str = Phase.P
) -> FloatArray:
    """``dT/d(source x, y, z)`` (s/m), shape (..., 3)."""
    src, rcv = np.broadcast_arrays(as_points("source_xyz_m", source_xyz_m), as_points("receiver_xyz_m", receiver_xyz_m))
    return first_arrival_arrays(model, parse_phase("phase", phase), src, rcv)[1]


def parse_phase(name: str, value: object) -> Phase:
    """``value`` as a :class:`Phase`, else ``ValueError`` naming ``name``."""
    try:
        return Phase(value)
    except ValueError:
        raise ValueError(f"{name} must be 'P' or 'S', got {value!r}") from None
