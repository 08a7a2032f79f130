"""Tests for quakewatch.ext.gmfield, gmfield_sampling and gmfield_conditioning.

Independent truth (``reference``): the Jayaram & Baker (2009) equations typed
from the paper's coefficients (as in the authors' ``jb_2009_spatial_corr.m``);
OpenQuake 3.26's ``jbcorrelation`` and ``conditioned_gmfs.Conditioner`` run in
the test; closed-form one- and two-station conditioning derived by hand; the
textbook joint-normal conditioning written out with numpy on the full
covariance; sampling-error bounds of normal statistics (Fisher's z for a
correlation, ``Var s^2 = 2 sigma^4 / (N - 1)``, the variance of a truncated
normal).  Bounds are Bonferroni-corrected 4.5-sigma (two-sided p ~ 7e-6 per
check), so a correct sampler fails with negligible probability and the seeds
are fixed anyway.

Other tests check invariants (chunking, duplicates, inputs not modified,
validation) and the approximation's exact implied correlation against its
claimed bounds.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from quakewatch.ext.gmfield import (
    correlation_range_km,
    iter_fields,
    plan_fields,
    simulate_fields,
    spatial_correlation,
)
from quakewatch.ext.gmfield_conditioning import condition_on_stations
from quakewatch.ext.gmfield_sampling import _project, build_plan, great_circle_km

Z = 4.5  # sigma multiple of every statistical bound
LON0, LAT0 = 100.0, 30.0
KM_LON = 111.19492664455873 * math.cos(math.radians(LAT0))  # km per degree, sphere R=6371
KM_LAT = 111.19492664455873


def to_lonlat(x_km: np.ndarray, y_km: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Local km offsets around (LON0, LAT0) to degrees (distances are then measured exactly)."""
    return LON0 + np.asarray(x_km) / KM_LON, LAT0 + np.asarray(y_km) / KM_LAT


def pairs_at(seps_km: list[float], rng: np.random.Generator, spread_km: float = 15.0):
    """Two sites per separation, random position and direction; returns lon, lat, i, j."""
    pts = []
    for s in seps_km:
        x, y = rng.uniform(-spread_km, spread_km, 2)
        th = rng.uniform(0.0, 2.0 * math.pi)
        pts += [(x, y), (x + s * math.cos(th), y + s * math.sin(th))]
    p = np.array(pts)
    lon, lat = to_lonlat(p[:, 0], p[:, 1])
    i = np.arange(0, 2 * len(seps_km), 2)
    return lon, lat, i, i + 1


def fisher_ok(r: np.ndarray, rho_lo: np.ndarray, rho_hi: np.ndarray, n: int, m: int) -> np.ndarray:
    """Sample correlations r (n draws) within [rho_lo, rho_hi] up to Fisher-z sampling error."""
    z = Z + math.sqrt(2.0 * math.log(max(m, 1)))  # Bonferroni over m checks (Gaussian tail)
    half = z / math.sqrt(n - 3)
    lo = np.arctanh(np.clip(rho_lo, -0.999999, 0.999999)) - half
    hi = np.arctanh(np.clip(rho_hi, -0.999999, 0.999999)) + half
    zr = np.arctanh(np.clip(r, -0.999999, 0.999999))
    return (zr >= lo) & (zr <= hi)


# --------------------------------------------------------------------------- #
# correlation model
# --------------------------------------------------------------------------- #


@pytest.mark.reference
@pytest.mark.parametrize(
    ("imt", "clustered", "b"),
    [
        ("PGA", False, 8.5),  # eq. 17, T = 0
        ("PGA", True, 40.7),  # eq. 18, T = 0
        ("SA(0.5)", False, 8.5 + 17.2 * 0.5),
        ("SA(0.5)", True, 40.7 - 15.0 * 0.5),
        ("SA(1.0)", False, 25.7),  # eq. 19, both cases
        ("SA(1.0)", True, 25.7),
        ("SA(3.0)", False, 22.0 + 3.7 * 3.0),
        ("SA(10)", True, 22.0 + 37.0),
        ("PGV", False, 25.7),  # treated as SA(1.0) (ShakeMap 4, OpenQuake)
        ("PGV", True, 25.7),
    ],
)
def test_range_follows_jb09_equations(imt: str, clustered: bool, b: float) -> None:
    assert correlation_range_km(imt, vs30_clustered=clustered) == pytest.approx(b, rel=1e-12)


@pytest.mark.reference
def test_correlation_is_exp_minus_3h_over_b() -> None:
    h = np.array([0.0, 8.5 / 3.0, 8.5, 17.0])
    expected = np.array([1.0, math.exp(-1.0), math.exp(-3.0), math.exp(-6.0)])
    got = spatial_correlation(h, "PGA")
    np.testing.assert_allclose(got, expected, rtol=1e-14)
    assert got.dtype == np.float64 and got.shape == h.shape


@pytest.mark.reference
@pytest.mark.parametrize("imt", ["PGA", "SA(0.3)", "SA(1.0)", "SA(2.0)", "PGV"])
@pytest.mark.parametrize("clustered", [False, True])
def test_correlation_matches_openquake_jbcorrelation(imt: str, clustered: bool) -> None:
    oq_corr = pytest.importorskip("openquake.hazardlib.correlation")
    oq_imt = pytest.importorskip("openquake.hazardlib.imt")
    h = np.array([[0.0, 1.0, 5.0], [12.5, 40.0, 200.0]])
    expected = oq_corr.jbcorrelation(h, oq_imt.from_string(imt), clustered)
    np.testing.assert_allclose(spatial_correlation(h, imt, vs30_clustered=clustered), expected, rtol=1e-12)


@pytest.mark.parametrize(
    ("imt", "match"),
    [("MMI", "imt must be"), ("SA(0)", "within \\(0, 10\\]"), ("SA(12.0)", "within \\(0, 10\\]"),
     ("sa(1.0)", "imt must be")],
)
def test_bad_imt_raises(imt: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        correlation_range_km(imt)


def test_bad_distance_raises() -> None:
    with pytest.raises(ValueError, match="distance_km must be >= 0"):
        spatial_correlation([-1.0], "PGA")
    with pytest.raises(ValueError, match="distance_km must be finite"):
        spatial_correlation([np.nan], "PGA")


# --------------------------------------------------------------------------- #
# simulation: shapes, invariants, validation
# --------------------------------------------------------------------------- #


@pytest.fixture
def sites() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    lon, lat = to_lonlat(rng.uniform(-20, 20, 300), rng.uniform(-20, 20, 300))
    lon[7], lat[7] = lon[3], lat[3]  # a shared site
    return lon, lat


@pytest.mark.parametrize("exact_max_sites", [5000, 0], ids=["exact", "grid"])
def test_blocks_equal_one_shot_for_any_block_size(sites, exact_max_sites: int) -> None:
    lon, lat = sites
    mu = np.linspace(-3.0, -1.0, lon.size)
    full = simulate_fields(lon, lat, mu, 0.3, 0.5, "PGA", 37, seed=5, exact_max_sites=exact_max_sites)
    assert full.shape == (37, lon.size) and full.dtype == np.float64
    for block in (1, 3, 32, 33, 100):
        parts = list(iter_fields(lon, lat, mu, 0.3, 0.5, "PGA", 37, seed=5,
                                 exact_max_sites=exact_max_sites, block_realisations=block))
        assert [p.shape[0] for p in parts] == [min(block, 37 - s) for s in range(0, 37, block)]
        np.testing.assert_array_equal(np.concatenate(parts), full)
    threaded = simulate_fields(lon, lat, mu, 0.3, 0.5, "PGA", 37, seed=5,
                               exact_max_sites=exact_max_sites, workers=2)
    np.testing.assert_array_equal(threaded, full)
    other = simulate_fields(lon, lat, mu, 0.3, 0.5, "PGA", 37, seed=6, exact_max_sites=exact_max_sites)
    assert not np.array_equal(other, full)


@pytest.mark.parametrize("exact_max_sites", [5000, 0], ids=["exact", "grid"])
def test_shared_sites_share_the_within_event_residual(sites, exact_max_sites: int) -> None:
    lon, lat = sites
    mu = np.zeros(lon.size)
    mu[7] = 1.0
    f = simulate_fields(lon, lat, mu, 0.2, 0.6, "PGA", 20, seed=1, exact_max_sites=exact_max_sites)
    np.testing.assert_allclose(f[:, 7] - 1.0, f[:, 3], rtol=0, atol=1e-12)
    plan = plan_fields(lon, lat, "PGA", exact_max_sites=exact_max_sites)
    assert plan.n_unique == lon.size - 1


def test_inputs_are_not_modified(sites) -> None:
    lon, lat = sites
    mu, tau, phi = np.full(lon.size, -2.0), np.full(lon.size, 0.3), np.full(lon.size, 0.5)
    copies = [a.copy() for a in (lon, lat, mu, tau, phi)]
    simulate_fields(lon, lat, mu, tau, phi, "PGA", 3, seed=0, exact_max_sites=0, truncation_level=2.0)
    for a, c in zip((lon, lat, mu, tau, phi), copies):
        np.testing.assert_array_equal(a, c)


def test_plan_reuse_gives_the_same_fields_and_checks_sites(sites) -> None:
    lon, lat = sites
    plan = plan_fields(lon, lat, "SA(1.0)")
    a = simulate_fields(lon, lat, -1.0, 0.3, 0.5, "SA(1.0)", 4, seed=2)
    b = simulate_fields(lon, lat, -1.0, 0.3, 0.5, "SA(1.0)", 4, seed=2, plan=plan)
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="plan was built for other site coordinates"):
        simulate_fields(lon[::-1], lat[::-1], -1.0, 0.3, 0.5, "SA(1.0)", 4, seed=2, plan=plan)
    with pytest.raises(ValueError, match="plan is for 300 sites and imt 'SA\\(1.0\\)'"):
        simulate_fields(lon, lat, -1.0, 0.3, 0.5, "PGA", 4, seed=2, plan=plan)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"tau": -0.1}, "tau must be >= 0"),
        ({"phi": np.ones(3)}, "phi must be a scalar or have shape \\(300,\\)"),
        ({"ln_mean": np.nan}, "ln_mean must be finite"),
        ({"n_realisations": 0}, "n_realisations must be >= 1"),
        ({"seed": -1}, "seed must be a non-negative int"),
        ({"truncation_level": -1.0}, "truncation_level must be finite and >= 0"),
        ({"grid_spacing_km": 5.0, "exact_max_sites": 0}, "grid_spacing_km must be within"),
        ({"workers": 0}, "workers must be an int >= 1"),
        ({"exact_max_sites": -1}, "exact_max_sites must be >= 0"),
    ],
)
def test_invalid_arguments_raise(sites, kwargs: dict, match: str) -> None:
    lon, lat = sites
    args = {"ln_mean": -2.0, "tau": 0.3, "phi": 0.5, "n_realisations": 2, "seed": 0}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        simulate_fields(lon, lat, args.pop("ln_mean"), args.pop("tau"), args.pop("phi"), "PGA",
                        args.pop("n_realisations"), **args)


def test_bad_coordinates_raise() -> None:
    with pytest.raises(ValueError, match="lat must be within \\[-90, 90\\]"):
        simulate_fields([0.0], [91.0], 0.0, 0.1, 0.1, "PGA", 1, seed=0)
    with pytest.raises(ValueError, match="lat must have the shape of lon"):
        simulate_fields([0.0, 1.0], [1.0], 0.0, 0.1, 0.1, "PGA", 1, seed=0)
    with pytest.raises(ValueError, match="lon must be a non-empty 1-D array"):
        simulate_fields([], [], 0.0, 0.1, 0.1, "PGA", 1, seed=0)


# --------------------------------------------------------------------------- #
# simulation: statistics against the model
# --------------------------------------------------------------------------- #


@pytest.mark.reference
def test_exact_method_correlation_and_variance_match_the_model() -> None:
    rng = np.random.default_rng(3)
    seps = [0.2, 1.0, 3.0, 6.0, 12.0, 25.0]
    lon, lat, i, j = pairs_at(seps, rng)
    n = 20000
    tau, phi = 0.35, 0.55
    f = simulate_fields(lon, lat, 0.0, tau, phi, "PGA", n, seed=7)
    # within-event part: tau = 0 with the same seed leaves phi * eps
    w = simulate_fields(lon, lat, 0.0, 0.0, 1.0, "PGA", n, seed=7)
    h = great_circle_km(lon[i], lat[i], lon[j], lat[j])
    rho = spatial_correlation(h, "PGA")
    r = np.array([np.corrcoef(w[:, a], w[:, b])[0, 1] for a, b in zip(i, j)])
    assert fisher_ok(r, rho, rho, n, len(seps)).all(), (r, rho)
    # marginal variance tau^2 + phi^2: |s^2 - s2| <= Z s2 sqrt(2 / (N - 1)) per site
    s2 = tau**2 + phi**2
    var = f.var(axis=0, ddof=1)
    assert np.all(np.abs(var - s2) <= (Z + 2.0) * s2 * math.sqrt(2.0 / (n - 1))), var
    # total covariance of the pair 25 km apart: tau^2 + phi^2 rho
    cov = np.cov(f[:, i[-1]], f[:, j[-1]])[0, 1]
    expected = tau**2 + phi**2 * rho[-1]
    # sd of a sample covariance of a bivariate normal: sqrt((s_a s_b + c^2) / (N - 1))
    assert abs(cov - expected) <= Z * math.sqrt((s2 * s2 + expected**2) / (n - 1))


@pytest.mark.reference
def test_grid_method_correlation_and_variance_match_the_model() -> None:
    rng = np.random.default_rng(4)
    seps = [0.1, 0.4, 1.0, 2.5, 6.0, 12.0]
    lon, lat, i, j = pairs_at(seps, rng, spread_km=12.0)
    plan = plan_fields(lon, lat, "PGA", exact_max_sites=0)
    assert plan.method == "grid" and plan.clipped_eigen_fraction == 0.0
    n = 4000
    w = simulate_fields(lon, lat, 0.0, 0.0, 1.0, "PGA", n, seed=9, plan=plan)
    h = great_circle_km(lon[i], lat[i], lon[j], lat[j])
    rho = spatial_correlation(h, "PGA")
    err = np.where(h < plan.grid_spacing_km, plan.near_error_bound, plan.far_error_bound)
    r = np.array([np.corrcoef(w[:, a], w[:, b])[0, 1] for a, b in zip(i, j)])
    # the sampler realises its implied correlation ...
    implied = plan.implied_correlation(i, j)
    assert fisher_ok(r, implied, implied, n, len(seps)).all(), (r, implied)
    # ... which is the model within the claimed bound
    assert fisher_ok(r, rho - err, rho + err, n, len(seps)).all(), (r, rho)
    var = w.var(axis=0, ddof=1)
    assert np.all(np.abs(var - 1.0) <= (Z + 2.0) * math.sqrt(2.0 / (n - 1))), var


@pytest.mark.parametrize("ratio", [16, 8])
@pytest.mark.parametrize("imt", ["PGA", "SA(1.0)"])
def test_grid_error_is_within_the_claimed_bounds(imt: str, ratio: int) -> None:
    """Exact implied correlation of the approximation against rho(h) for random pairs."""
    rng = np.random.default_rng(ratio)
    b = correlation_range_km(imt)
    d = b / ratio
    m = 1500
    h = np.concatenate([rng.uniform(0.0, d, m), rng.uniform(d, 4.0 * d, m), rng.uniform(4.0 * d, 2.0 * b, m)])
    x, y = rng.uniform(-2.0 * b, 2.0 * b, (2, 3 * m))
    th = rng.uniform(0.0, 2.0 * math.pi, 3 * m)
    lon, lat = to_lonlat(np.concatenate([x, x + h * np.cos(th)]), np.concatenate([y, y + h * np.sin(th)]))
    plan = plan_fields(lon, lat, imt, exact_max_sites=0, grid_spacing_km=d)
    i = np.arange(3 * m)
    hh = great_circle_km(lon[i], lat[i], lon[i + 3 * m], lat[i + 3 * m])
    err = plan.implied_correlation(i, i + 3 * m) - spatial_correlation(hh, imt)
    near, far = hh < d, hh >= d
    assert np.abs(err[far]).max() <= plan.far_error_bound
    assert np.abs(err[near]).max() <= plan.near_error_bound
    # the far bound is not vacuous: the worst error found is a sizeable part of it
    assert np.abs(err[far]).max() >= 0.25 * plan.far_error_bound
    # every site has unit variance exactly
    np.testing.assert_allclose(plan.implied_correlation(i, i), 1.0, rtol=0, atol=1e-9)


@pytest.mark.reference
def test_exact_plan_implied_correlation_is_the_model() -> None:
    rng = np.random.default_rng(5)
    lon, lat, i, j = pairs_at([0.5, 2.0, 9.0], rng)
    plan = plan_fields(lon, lat, "SA(0.3)", vs30_clustered=True)
    h = great_circle_km(lon[i], lat[i], lon[j], lat[j])
    np.testing.assert_allclose(plan.implied_correlation(i, j),
                               spatial_correlation(h, "SA(0.3)", vs30_clustered=True), rtol=1e-10)


def test_projection_distortion_bounds_distances() -> None:
    rng = np.random.default_rng(6)
    lon, lat = to_lonlat(rng.uniform(-300, 300, 400), rng.uniform(-300, 300, 400))
    x, y, distortion = _project(lon, lat)
    a, b = rng.integers(0, 400, (2, 2000))
    keep = a != b
    a, b = a[keep], b[keep]
    gc = great_circle_km(lon[a], lat[a], lon[b], lat[b])
    pl = np.hypot(x[a] - x[b], y[a] - y[b])
    assert np.all(pl >= gc * (1 - 1e-12))
    assert np.all(pl <= gc * (1 + distortion) + 1e-9)
    assert 0.0 < distortion < 1e-3


@pytest.mark.reference
def test_truncation_bounds_values_and_gives_truncated_normal_variance() -> None:
    rng = np.random.default_rng(8)
    lon, lat = to_lonlat(rng.uniform(-5, 5, 40), rng.uniform(-5, 5, 40))
    k, tau, phi, n = 1.5, 0.3, 0.5, 6000
    f = simulate_fields(lon, lat, -2.0, tau, phi, "PGA", n, seed=3, truncation_level=k)
    eps = simulate_fields(lon, lat, 0.0, 0.0, 1.0, "PGA", n, seed=3, truncation_level=k)
    assert np.abs(eps).max() <= k
    assert np.abs(f + 2.0).max() <= k * (tau + phi) + 1e-12
    pdf = math.exp(-k * k / 2.0) / math.sqrt(2.0 * math.pi)
    cdf = 0.5 * (1.0 + math.erf(k / math.sqrt(2.0)))
    v = 1.0 - 2.0 * k * pdf / (2.0 * cdf - 1.0)  # variance of N(0, 1) truncated to [-k, k]
    # the fourth moment of the truncated normal is below 3 v^2, so Var s^2 <= 2 v^2 / (N - 1)
    assert abs(eps[:, 0].var(ddof=1) - v) <= Z * v * math.sqrt(2.0 / (n - 1))
    zero = simulate_fields(lon, lat, np.arange(40.0), tau, phi, "PGA", 3, seed=3, truncation_level=0.0)
    np.testing.assert_array_equal(zero, np.tile(np.arange(40.0), (3, 1)))


@pytest.mark.reference
def test_truncation_transform_is_the_truncated_normal_quantile() -> None:
    stats = pytest.importorskip("scipy.stats")
    from scipy.special import ndtr

    from quakewatch.ext.gmfield import _truncate

    x = np.array([-40.0, -8.0, -3.0, -1.0, 0.0, 0.5, 2.0, 6.0, 40.0])
    y = x.copy()
    _truncate(y, 1.5)
    np.testing.assert_allclose(y, stats.truncnorm.ppf(ndtr(x), -1.5, 1.5), rtol=1e-10, atol=1e-12)


def test_build_plan_rejects_bad_range() -> None:
    with pytest.raises(ValueError, match="range_km must be finite and > 0"):
        build_plan([0.0], [0.0], 0.0)


# --------------------------------------------------------------------------- #
# conditioning on stations
# --------------------------------------------------------------------------- #

TAU, PHI = 0.3, 0.5


def one_station_sites() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sites at 0, 1, 4 and 3000 km east of a station at (LON0, LAT0)."""
    d = np.array([0.0, 1.0, 4.0])
    lon, lat = to_lonlat(d, np.zeros(3))
    return np.append(lon, LON0 + 27.0), np.append(lat, LAT0), np.append(d, np.inf)


@pytest.mark.reference
@pytest.mark.parametrize("s", [0.0, 0.25])
def test_one_station_worden2018_closed_form(s: float) -> None:
    lon, lat, _ = one_station_sites()
    mu_d, y = -2.0, -1.4
    cf = condition_on_stations([LON0], [LAT0], [y], [mu_d], TAU, PHI, lon, lat, -2.0, TAU, PHI, "PGA",
                               obs_sigma=s)
    zeta = y - mu_d
    # hand derivation: Sigma = phi^2 + s^2 (scalar); bias = tau^2 zeta / (tau^2 + phi^2 + s^2)
    bias = TAU**2 * zeta / (TAU**2 + PHI**2 + s**2)
    vb = TAU**2 * (PHI**2 + s**2) / (TAU**2 + PHI**2 + s**2)
    ph2 = PHI**2 + vb  # phi_hat^2
    rho = np.exp(-3.0 * great_circle_km(LON0, LAT0, lon, lat) / 8.5)
    mean = -2.0 + bias + ph2 * rho / (ph2 + s**2) * (zeta - bias)
    var = ph2 - ph2**2 * rho**2 / (ph2 + s**2)
    np.testing.assert_allclose(cf.mean, mean, rtol=0, atol=1e-12)
    np.testing.assert_allclose(cf.std, np.sqrt(var), rtol=0, atol=1e-12)
    np.testing.assert_allclose(cf.bias, bias, rtol=1e-12)
    np.testing.assert_allclose(cf.bias_std, math.sqrt(vb), rtol=1e-12)
    assert cf.event_term == pytest.approx(bias / TAU, rel=1e-12)


@pytest.mark.reference
def test_one_station_engler2022_closed_form() -> None:
    lon, lat, _ = one_station_sites()
    cf = condition_on_stations([LON0], [LAT0], [-1.4], [-2.0], TAU, PHI, lon, lat, -2.0, TAU, PHI, "PGA",
                               method="engler2022")
    zeta = 0.6
    rho = np.exp(-3.0 * great_circle_km(LON0, LAT0, lon, lat) / 8.5)
    # joint normal of (site, station) totals: cov = tau^2 + phi^2 rho, var = tau^2 + phi^2
    c = TAU**2 + PHI**2 * rho
    mean = -2.0 + c / (TAU**2 + PHI**2) * zeta
    var = TAU**2 + PHI**2 - c**2 / (TAU**2 + PHI**2)
    np.testing.assert_allclose(cf.mean, mean, rtol=0, atol=1e-12)
    np.testing.assert_allclose(cf.std, np.sqrt(var), rtol=0, atol=1e-12)


@pytest.mark.reference
def test_two_stations_worden2018_closed_form() -> None:
    slon, slat = to_lonlat(np.array([0.0, 3.0]), np.array([0.0, 0.0]))
    ylon, ylat = to_lonlat(np.array([1.5, 1.0, -2.0]), np.array([0.0, 2.0, 1.0]))
    mu_d = np.array([-2.0, -2.2])
    obs = np.array([-1.5, -2.6])
    cf = condition_on_stations(slon, slat, obs, mu_d, TAU, PHI, ylon, ylat, -2.1, TAU, PHI, "PGA")
    z1, z2 = obs - mu_d
    r12 = math.exp(-3.0 * float(great_circle_km(slon[0], slat[0], slon[1], slat[1])) / 8.5)
    # 1^T R^-1 1 = 2 / (1 + r12), 1^T R^-1 zeta = (z1 + z2) / (1 + r12), Sigma = phi^2 R
    bias = TAU**2 * (z1 + z2) / (PHI**2 * (1 + r12) + 2 * TAU**2)
    vb = TAU**2 * PHI**2 * (1 + r12) / (PHI**2 * (1 + r12) + 2 * TAU**2)
    ph2 = PHI**2 + vb
    r1 = np.exp(-3.0 * great_circle_km(slon[0], slat[0], ylon, ylat) / 8.5)
    r2 = np.exp(-3.0 * great_circle_km(slon[1], slat[1], ylon, ylat) / 8.5)
    w1 = (r1 - r12 * r2) / (1 - r12**2)  # R^-1 r
    w2 = (r2 - r12 * r1) / (1 - r12**2)
    mean = -2.1 + bias + w1 * (z1 - bias) + w2 * (z2 - bias)
    var = ph2 * (1 - (r1**2 + r2**2 - 2 * r12 * r1 * r2) / (1 - r12**2))
    np.testing.assert_allclose(cf.mean, mean, rtol=0, atol=1e-12)
    np.testing.assert_allclose(cf.std, np.sqrt(var), rtol=0, atol=1e-12)
    assert cf.bias[0] == pytest.approx(bias, rel=1e-12)


def network(rng: np.random.Generator, n: int):
    x, y = rng.uniform(-25, 25, (2, n))
    slon, slat = to_lonlat(x, y)
    mu = rng.uniform(-3.0, -1.0, n)
    return slon, slat, mu + rng.normal(0.0, 0.6, n), mu


@pytest.mark.reference
@pytest.mark.parametrize("method", ["worden2018", "engler2022"])
def test_station_is_reproduced_exactly_without_noise(method: str) -> None:
    slon, slat, obs, mu = network(np.random.default_rng(1), 8)
    tau = np.linspace(0.25, 0.35, 8)
    phi = np.linspace(0.45, 0.6, 8)
    cf = condition_on_stations(slon, slat, obs, mu, tau, phi, slon, slat, mu, tau, phi, "SA(1.0)",
                               method=method)
    np.testing.assert_allclose(cf.mean, obs, rtol=0, atol=1e-9)
    np.testing.assert_allclose(cf.std, 0.0, rtol=0, atol=1e-6)
    noisy = condition_on_stations(slon, slat, obs, mu, tau, phi, slon, slat, mu, tau, phi, "SA(1.0)",
                                  method=method, obs_sigma=0.2)
    assert np.all(noisy.std > 0.05) and np.all(np.abs(noisy.mean - obs) > 0)


@pytest.mark.parametrize("method", ["worden2018", "engler2022"])
def test_variance_decreases_with_more_stations(method: str) -> None:
    rng = np.random.default_rng(2)
    slon, slat, obs, mu = network(rng, 12)
    ylon, ylat = to_lonlat(rng.uniform(-30, 30, 50), rng.uniform(-30, 30, 50))
    previous = np.full(50, np.inf)
    for k in (1, 2, 4, 8, 12):
        cf = condition_on_stations(slon[:k], slat[:k], obs[:k], mu[:k], TAU, PHI, ylon, ylat, -2.0, TAU,
                                   PHI, "PGA", method=method, obs_sigma=0.1)
        assert np.all(cf.std <= previous + 1e-12)
        previous = cf.std
    assert np.all(previous < math.hypot(TAU, PHI))


@pytest.mark.reference
@pytest.mark.parametrize("method", ["worden2018", "engler2022"])
def test_far_sites_revert_to_the_bias_adjusted_prior(method: str) -> None:
    slon, slat, obs, mu = network(np.random.default_rng(3), 6)
    far_lon, far_lat = np.array([LON0 + 25.0, LON0 - 20.0]), np.array([LAT0, LAT0 + 15.0])
    cf = condition_on_stations(slon, slat, obs, mu, TAU, PHI, far_lon, far_lat, [-2.0, -2.5], TAU, PHI,
                               "PGA", method=method, obs_sigma=0.1)
    var_h = cf.event_term_std**2
    np.testing.assert_allclose(cf.mean, np.array([-2.0, -2.5]) + TAU * cf.event_term, rtol=0, atol=1e-12)
    np.testing.assert_allclose(cf.std, math.sqrt(PHI**2 + TAU**2 * var_h), rtol=0, atol=1e-12)
    # the event term is the same for both methods: GLS estimate with its posterior variance
    h = great_circle_km(slon[:, None], slat[:, None], slon[None, :], slat[None, :])
    sigma = PHI**2 * np.exp(-3.0 * h / 8.5) + 0.1**2 * np.eye(6)
    one = np.ones(6)
    inv = np.linalg.inv(sigma)
    assert cf.event_term_std**2 == pytest.approx(1.0 / (1.0 + TAU**2 * one @ inv @ one), rel=1e-10)
    bias = (one @ inv @ (obs - mu)) / (TAU**-2 + one @ inv @ one)  # ShakeMap 4 "Event Bias"
    assert TAU * cf.event_term == pytest.approx(bias, rel=1e-10)


@pytest.mark.reference
def test_engler2022_is_the_joint_normal_posterior() -> None:
    """Textbook conditioning on the full covariance tau tau^T + phi rho phi + noise, in numpy."""
    rng = np.random.default_rng(4)
    slon, slat, obs, mu_d = network(rng, 7)
    ylon, ylat = to_lonlat(rng.uniform(-30, 30, 9), rng.uniform(-30, 30, 9))
    tau_d, phi_d = rng.uniform(0.2, 0.4, 7), rng.uniform(0.4, 0.6, 7)
    mu_y, tau_y, phi_y = rng.uniform(-3, -1, 9), rng.uniform(0.2, 0.4, 9), rng.uniform(0.4, 0.6, 9)
    noise = rng.uniform(0.0, 0.3, 7)
    cf = condition_on_stations(slon, slat, obs, mu_d, tau_d, phi_d, ylon, ylat, mu_y, tau_y, phi_y,
                               "SA(0.3)", obs_sigma=noise, method="engler2022")
    lon, lat = np.concatenate([ylon, slon]), np.concatenate([ylat, slat])
    tau, phi = np.concatenate([tau_y, tau_d]), np.concatenate([phi_y, phi_d])
    b = 8.5 + 17.2 * 0.3
    h = great_circle_km(lon[:, None], lat[:, None], lon[None, :], lat[None, :])
    cov = np.outer(tau, tau) + np.outer(phi, phi) * np.exp(-3.0 * h / b)
    cyy, cyd, cdd = cov[:9, :9], cov[:9, 9:], cov[9:, 9:] + np.diag(noise**2)
    gain = cyd @ np.linalg.inv(cdd)
    np.testing.assert_allclose(cf.mean, mu_y + gain @ (obs - mu_d), rtol=0, atol=1e-10)
    np.testing.assert_allclose(cf.std, np.sqrt(np.diag(cyy - gain @ cyd.T)), rtol=0, atol=1e-10)


def test_methods_share_the_mean_for_equal_phi_and_no_noise() -> None:
    rng = np.random.default_rng(5)
    slon, slat, obs, mu = network(rng, 9)
    ylon, ylat = to_lonlat(rng.uniform(-30, 30, 20), rng.uniform(-30, 30, 20))
    a, b = (condition_on_stations(slon, slat, obs, mu, TAU, PHI, ylon, ylat, -2.0, TAU, PHI, "PGA",
                                  method=m) for m in ("worden2018", "engler2022"))
    np.testing.assert_allclose(a.mean, b.mean, rtol=0, atol=1e-12)
    assert np.any(np.abs(a.std - b.std) > 1e-3)  # the variances differ (bias treatment)


@pytest.mark.reference
def test_engler2022_matches_openquake_conditioned_gmfs() -> None:
    """OpenQuake 3.26 ``Conditioner.get_mu_tau_phi`` on a small case (float32 inside).

    The observation noise is the same at every station: OpenQuake's ``createD``
    adds ``var_addon_D`` of shape (n, 1) to a diagonal of shape (n,), and
    ``fill_diagonal`` then writes the first station's extra variance on every
    station, so unequal noise would not be an independent check.
    """
    pandas = pytest.importorskip("pandas")
    cg = pytest.importorskip("openquake.hazardlib.calc.conditioned_gmfs")
    from openquake.baselib import performance
    from openquake.hazardlib import correlation, cross_correlation
    from openquake.hazardlib.geo.geodetic import geodetic_distance
    from openquake.hazardlib.imt import from_string

    rng = np.random.default_rng(6)
    nd, ny = 6, 9
    slon, slat, obs, mu_d = network(rng, nd)
    ylon, ylat = to_lonlat(rng.uniform(-40, 40, ny), rng.uniform(-40, 40, ny))
    tau_d, phi_d = rng.uniform(0.2, 0.4, nd), rng.uniform(0.4, 0.6, nd)
    mu_y, tau_y, phi_y = rng.uniform(-3, -1, ny), rng.uniform(0.2, 0.4, ny), rng.uniform(0.4, 0.6, ny)
    noise = 0.2

    class Sites:  # only len() of the site collections is used here
        def __init__(self, n: int) -> None:
            self.n = n

        def __len__(self) -> int:
            return self.n

    imt = from_string("PGA")
    stations = pandas.DataFrame({"PGA_mean": np.exp(obs), "PGA_std": np.full(nd, noise)})
    inp = cg.Input(Sites(ny), Sites(nd), [imt], [imt], stations, correlation.JB2009CorrelationModel(False),
                   cross_correlation.GodaAtkinson2009(), cross_correlation.BakerJayaram2008())

    def mean_stds(mu, tau, phi):  # (mean, sigma, tau, phi) x gsim x imt x sites
        return np.stack([mu, np.hypot(tau, phi), tau, phi])[:, None, None, :]

    def dist(lo1, la1, lo2, la2):
        return geodetic_distance(lo1[:, None], la1[:, None], lo2[None, :], la2[None, :])

    monitor = performance.Monitor()
    monitor.set_shared(YY=dist(ylon, ylat, ylon, ylat), YD=dist(ylon, ylat, slon, slat),
                       DY=dist(slon, slat, ylon, ylat), DD=dist(slon, slat, slon, slat))
    cond = cg.Conditioner(0, "gsim", inp, mean_stds(mu_y, tau_y, phi_y), mean_stds(mu_d, tau_d, phi_d))
    mu, cov_w, cov_b, _ = cond.get_mu_tau_phi(0, imt, monitor)
    cf = condition_on_stations(slon, slat, obs, mu_d, tau_d, phi_d, ylon, ylat, mu_y, tau_y, phi_y, "PGA",
                               obs_sigma=noise, method="engler2022")
    np.testing.assert_allclose(cf.mean, mu[:, 0], rtol=0, atol=2e-5)
    np.testing.assert_allclose(cf.std, np.sqrt(np.diag(cov_w + cov_b)), rtol=0, atol=2e-5)


@pytest.mark.reference
@pytest.mark.parametrize("method", ["worden2018", "engler2022"])
def test_conditional_sampler_mean_and_variance(method: str) -> None:
    rng = np.random.default_rng(7)
    slon, slat, obs, mu = network(rng, 5)
    ylon, ylat = to_lonlat(rng.uniform(-30, 30, 8), rng.uniform(-30, 30, 8))
    ylon, ylat = np.append(ylon, slon[0]), np.append(ylat, slat[0])  # a site on a station
    site_mu = np.append(rng.uniform(-3, -1, 8), mu[0])
    cf = condition_on_stations(slon, slat, obs, mu, TAU, PHI, ylon, ylat, site_mu, TAU, PHI, "PGA",
                               method=method)
    n = 6000
    s = cf.sample(n, seed=3)
    assert s.shape == (n, 9)
    np.testing.assert_allclose(s[:, 8], obs[0], rtol=0, atol=1e-9)  # station reproduced in every draw
    sd = cf.std[:8]
    assert np.all(np.abs(s[:, :8].mean(axis=0) - cf.mean[:8]) <= (Z + 2.0) * sd / math.sqrt(n))
    var = s[:, :8].var(axis=0, ddof=1)
    assert np.all(np.abs(var - sd**2) <= (Z + 2.0) * sd**2 * math.sqrt(2.0 / (n - 1)))


def test_conditional_samples_are_chunk_invariant_and_grid_keeps_stations() -> None:
    rng = np.random.default_rng(8)
    slon, slat, obs, mu = network(rng, 4)
    ylon, ylat = to_lonlat(rng.uniform(-30, 30, 30), rng.uniform(-30, 30, 30))
    ylon, ylat = np.append(ylon, slon[1]), np.append(ylat, slat[1])
    cf = condition_on_stations(slon, slat, obs, mu, TAU, PHI, ylon, ylat, np.append(np.full(30, -2.0), mu[1]),
                               TAU, PHI, "PGA", method="engler2022")
    for exact_max_sites in (5000, 0):
        full = cf.sample(45, seed=1, exact_max_sites=exact_max_sites)
        for block in (1, 7, 32):
            parts = list(cf.iter_samples(45, seed=1, block_realisations=block,
                                         exact_max_sites=exact_max_sites))
            np.testing.assert_array_equal(np.concatenate(parts), full)
        np.testing.assert_allclose(full[:, 30], obs[1], rtol=0, atol=1e-9)
    assert cf.plan(exact_max_sites=0).method == "grid"


def test_coincident_stations_use_the_pseudo_inverse() -> None:
    slon, slat = to_lonlat(np.array([0.0, 0.0, 5.0]), np.array([0.0, 0.0, 0.0]))
    obs = np.array([-1.0, -1.4, -2.0])
    cf = condition_on_stations(slon, slat, obs, -2.0, TAU, PHI, slon[:1], slat[:1], -2.0, TAU, PHI, "PGA",
                               method="engler2022")
    assert cf.provenance["pseudo_inverse"] is True
    assert np.all(np.isfinite(cf.mean)) and np.all(np.isfinite(cf.std))
    assert -1.4 < cf.mean[0] < -1.0  # between the two coincident observations


def test_conditioning_validation_and_no_mutation() -> None:
    slon, slat, obs, mu = network(np.random.default_rng(9), 3)
    copies = [a.copy() for a in (slon, slat, obs, mu)]
    condition_on_stations(slon, slat, obs, mu, TAU, PHI, slon, slat, mu, TAU, PHI, "PGA", obs_sigma=0.1)
    for a, c in zip((slon, slat, obs, mu), copies):
        np.testing.assert_array_equal(a, c)
    with pytest.raises(ValueError, match="station_phi must be > 0"):
        condition_on_stations(slon, slat, obs, mu, TAU, 0.0, slon, slat, mu, TAU, PHI, "PGA")
    with pytest.raises(ValueError, match="obs_sigma must be >= 0"):
        condition_on_stations(slon, slat, obs, mu, TAU, PHI, slon, slat, mu, TAU, PHI, "PGA", obs_sigma=-1.0)
    with pytest.raises(ValueError, match="station_ln_obs must have shape \\(3,\\)"):
        condition_on_stations(slon, slat, 1.0, mu, TAU, PHI, slon, slat, mu, TAU, PHI, "PGA")
    with pytest.raises(ValueError, match="method must be 'worden2018' or 'engler2022'"):
        condition_on_stations(slon, slat, obs, mu, TAU, PHI, slon, slat, mu, TAU, PHI, "PGA",
                              method="kriging")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="site_lat must have the shape of site_lon"):
        condition_on_stations(slon, slat, obs, mu, TAU, PHI, slon, slat[:2], mu, TAU, PHI, "PGA")
