"""Distances on a spherical Earth, shared by the ground-motion, loss and dispatch kernels.

numpy only; inputs are never modified; float64.

``haversine``
    ``2 R asin(sqrt(sin^2(dphi/2) + cos phi1 cos phi2 sin^2(dlambda/2)))``,
    broadcast over the inputs, with the half-angle sines expanded as
    ``sin(a - b) = sin a cos b - cos a sin b`` so that trigonometric
    functions are evaluated on the inputs, not on their broadcast (outer)
    product.
``unit_vectors`` / ``chord_to_arc``
    Points as unit vectors, so that a k-d tree on them finds great-circle
    nearest neighbours (the chord is monotonic in the arc), and the chord it
    returns back to an arc length.

Radii: :data:`EARTH_RADIUS_KM` = 6371 km is the one OpenQuake uses
(``openquake.hazardlib.geo.geodetic.EARTH_RADIUS``), kept wherever our results
are compared with the engine's; the dispatch kernels use the mean radius of
GRS 80 (6,371,008.8 m, Moritz 2000), see :mod:`quakewatch.ext.road_network`.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = ["EARTH_RADIUS_KM", "chord_to_arc", "haversine", "unit_vectors"]

FloatArray = npt.NDArray[np.float64]

EARTH_RADIUS_KM: Final = 6371.0


def haversine(lon1: npt.ArrayLike, lat1: npt.ArrayLike, lon2: npt.ArrayLike, lat2: npt.ArrayLike, radius: float) -> FloatArray:
    """Great-circle distance (units of ``radius``) between points in degrees, broadcast."""
    p1 = np.radians(np.asarray(lat1, dtype=np.float64))
    p2 = np.radians(np.asarray(lat2, dtype=np.float64))
    l1 = np.radians(np.asarray(lon1, dtype=np.float64))
    l2 = np.radians(np.asarray(lon2, dtype=np.float64))
    s_dphi = np.sin(p2 * 0.5) * np.cos(p1 * 0.5) - np.cos(p2 * 0.5) * np.sin(p1 * 0.5)
    s_dlam = np.sin(l1 * 0.5) * np.cos(l2 * 0.5) - np.cos(l1 * 0.5) * np.sin(l2 * 0.5)
    a = np.asarray(s_dphi * s_dphi + (np.cos(p1) * np.cos(p2)) * (s_dlam * s_dlam))
    np.clip(a, 0.0, 1.0, out=a)
    np.sqrt(a, out=a)
    np.arcsin(a, out=a)
    a *= 2.0 * radius
    out: FloatArray = a
    return out


def unit_vectors(lon: npt.ArrayLike, lat: npt.ArrayLike) -> FloatArray:
    """Points in degrees as unit vectors, shape (n, 3)."""
    lam, phi = np.radians(np.asarray(lon, dtype=np.float64)), np.radians(np.asarray(lat, dtype=np.float64))
    c = np.cos(phi)
    return np.column_stack((c * np.cos(lam), c * np.sin(lam), np.sin(phi)))


def chord_to_arc(chord: npt.ArrayLike, radius: float) -> FloatArray:
    """Arc length (units of ``radius``) of a chord between unit vectors."""
    out: FloatArray = (2.0 * radius) * np.arcsin(np.clip(np.asarray(chord, dtype=np.float64) * 0.5, 0.0, 1.0))
    return out
