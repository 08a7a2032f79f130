"""ext.nearest_site: the grid search against SciPy's k-d tree on unit vectors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import cKDTree

from quakewatch.ext.geodesy import EARTH_RADIUS_KM, chord_to_arc, unit_vectors
from quakewatch.ext.nearest_site import nearest_site


def _tree(site_lon, site_lat, lon, lat):  # type: ignore[no-untyped-def]
    chord, index = cKDTree(unit_vectors(site_lon, site_lat)).query(unit_vectors(lon, lat))
    return index, chord_to_arc(chord, EARTH_RADIUS_KM)


def _uniform_lat(rng: np.random.Generator, n: int, lo: float = -90.0, hi: float = 90.0) -> np.ndarray:
    return np.degrees(np.arcsin(rng.uniform(np.sin(np.radians(lo)), np.sin(np.radians(hi)), n)))


def _cases() -> dict[str, tuple[np.ndarray, ...]]:
    rng = np.random.default_rng(11)
    gap_lon = np.r_[rng.uniform(100, 101, 300), rng.uniform(120, 121, 300)]
    return {
        # a province: assets around and beyond the sites
        "region": (rng.uniform(111.5, 113.5, 2000), rng.uniform(36.9, 38.8, 2000),
                   rng.uniform(111, 114, 20000), rng.uniform(36.5, 39, 20000)),
        "globe": (rng.uniform(-180, 180, 3000), _uniform_lat(rng, 3000),
                  rng.uniform(-180, 180, 20000), _uniform_lat(rng, 20000)),
        # two clusters 20 degrees apart: the points between them go to the tree
        "gap": (gap_lon, rng.uniform(30, 31, 600), rng.uniform(99, 122, 20000), rng.uniform(29, 32, 20000)),
        "line": (np.linspace(110, 115, 400), np.full(400, 35.0), rng.uniform(109, 116, 5000), rng.uniform(34, 36, 5000)),
        "one site": (np.array([112.0]), np.array([37.0]), rng.uniform(100, 120, 500), rng.uniform(30, 40, 500)),
        "antimeridian and pole": (rng.uniform(-180, 180, 500), _uniform_lat(rng, 500, 80, 90),
                                  rng.uniform(170, 190, 5000), _uniform_lat(rng, 5000, 75, 90)),
        "clustered cities": (np.concatenate([c + rng.normal(0, 0.02, 200) for c in (110.0, 110.5, 113.0)]),
                             np.concatenate([c + rng.normal(0, 0.02, 200) for c in (35.0, 35.2, 36.0)]),
                             rng.uniform(109, 114, 10000), rng.uniform(34, 37, 10000)),
    }


@pytest.mark.parametrize("name", list(_cases()))
@pytest.mark.parametrize("threads", [1, 2])
def test_the_nearest_site_and_distance_of_the_tree(name: str, threads: int) -> None:
    site_lon, site_lat, lon, lat = _cases()[name]
    index, km = nearest_site(site_lon, site_lat, lon, lat, threads=threads)
    want_index, want_km = _tree(site_lon, site_lat, lon, lat)
    np.testing.assert_array_equal(index, want_index)
    np.testing.assert_allclose(km, want_km, rtol=1e-12, atol=1e-9)


def test_points_beyond_the_limit_are_cut_and_the_rest_found() -> None:
    site_lon, site_lat, lon, lat = _cases()["region"]
    index, km = nearest_site(site_lon, site_lat, lon, lat, max_km=5.0)
    want_index, want_km = _tree(site_lon, site_lat, lon, lat)
    near = want_km <= 5.0
    assert near.any() and (~near).any()
    np.testing.assert_array_equal(index[near], want_index[near])
    assert np.all((index[~near] == -1) | (index[~near] == want_index[~near]))
    assert np.all(km[~near] > 5.0) and np.all(np.isinf(km[index == -1]))


def test_ties_go_to_the_lowest_index_and_a_site_is_its_own_nearest() -> None:
    lon, lat = np.array([10.0, 12.0, 10.0, 11.0]), np.array([45.0, 45.0, 45.0, 46.0])  # sites 0 and 2 coincide
    index, km = nearest_site(lon, lat, np.array([10.0, 12.0, 11.0]), np.array([45.0, 45.0, 46.0]))
    assert index.tolist() == [0, 1, 3] and np.all(km == 0.0)


@pytest.mark.parametrize("args", [
    (np.array([]), np.array([]), np.array([1.0]), np.array([1.0])),
    (np.array([1.0, 2.0]), np.array([1.0]), np.array([1.0]), np.array([1.0])),
    (np.array([1.0]), np.array([np.nan]), np.array([1.0]), np.array([1.0])),
    (np.array([1.0]), np.array([1.0]), np.array([1.0, 2.0]), np.array([1.0])),
])
def test_bad_input_is_named(args: tuple[np.ndarray, ...]) -> None:
    with pytest.raises(ValueError, match="lon|lat"):
        nearest_site(*args)
