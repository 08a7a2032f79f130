"""Tests for quakewatch.ext.rupture, .gmpe and .intensity_attenuation.

Oracles (none of them this package's own output):

* BSSA14: the authors' verification tables (D. M. Boore's Fortran code, as
  shipped with the OpenQuake engine's tests; subset and provenance in
  ``tests/data/gmpe/README.md``), acceptance 1 %; and OpenQuake's
  ``BooreEtAl2014`` run here.
* Distances: analytic geometry of vertical and dipping planes, and
  OpenQuake's ``PlanarSurface``.
* Intensity: the isoseismal geometry solved by OpenQuake's
  ``yu_2013.get_ras``, closed forms on the axes, and the published
  coefficients' own consistency.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from quakewatch.ext.gmpe import GMPES, parse_imt, predict
from quakewatch.ext.intensity_attenuation import INTENSITY_MODELS, ms_from_mw, predict_intensity
from quakewatch.ext.rupture import (
    EARTH_RADIUS_KM,
    Rupture,
    SiteDistances,
    SlipType,
    local_xy,
    site_distances,
    slip_type,
)

DATA = Path(__file__).parent / "data" / "gmpe"
KM_PER_DEG = EARTH_RADIUS_KM * math.pi / 180.0
TOL = 0.01  # acceptance: within 1 % of the authors' tables


def _dist(rjb: Any) -> SiteDistances:
    r = np.atleast_1d(np.asarray(rjb, dtype=np.float64))
    return SiteDistances(r, r, r, r, r)


def _imt(column: str) -> str:
    return column.upper() if column.startswith("pg") else f"SA({float(column)})"


def _rows(name: str) -> tuple[list[str], list[dict[str, str]]]:
    with open(DATA / name, newline="") as fh:
        rows = list(csv.DictReader(fh))
    imts = [c for c in rows[0] if c == "pgv" or c == "pga" or c[0].isdigit()]
    return imts, rows


# (file, what is compared, model options); "mean" compares medians, the others the std.
CASES = [
    ("bssa14_mean.csv", "mean", {}),
    ("bssa14_highq_mean.csv", "mean", {"region": "china_turkey"}),
    ("bssa14_california_mean.csv", "mean", {"basin": "california"}),
    ("bssa14_nosof_mean.csv", "mean", {}),
    ("bssa14_total_std.csv", "sigma_total", {}),
    ("bssa14_inter_std.csv", "tau", {}),
]


def _authors_errors(name: str, what: str, options: dict[str, str]) -> dict[str, float]:
    """Max relative error per IMT over the rows of one authors' table."""
    imts, rows = _rows(name)
    worst: dict[str, float] = {}
    for row in rows:
        mw = float(row["rup_mag"])
        mech = slip_type(float(row["rup_rake"])).value if "rup_rake" in row else "unspecified"
        z1 = float(row["site_z1pt0"]) / 1000.0 if "site_z1pt0" in row else None
        for col in imts:
            p = predict("BSSA14", _imt(col), mw, _dist(float(row["dist_rjb"])), float(row["site_vs30"]),
                        z1_km=z1, mechanism=mech, **options)
            got = math.exp(p.ln_mean[0]) if what == "mean" else float(getattr(p, what)[0])
            err = abs(got / float(row[col]) - 1.0)
            worst[col] = max(worst.get(col, 0.0), err)
    return worst


@pytest.mark.reference
@pytest.mark.parametrize(("name", "what", "options"), CASES, ids=[c[0] for c in CASES])
def test_bssa14_matches_authors_tables(name: str, what: str, options: dict[str, str]) -> None:
    worst = _authors_errors(name, what, options)
    bad = {k: v for k, v in worst.items() if v > TOL}
    assert not bad, f"relative error above {TOL:.0%}: {bad}"


# --------------------------------------------------------------------------- OpenQuake


def _oq_bssa14(region: str, basin: str | None, imts: list[str], mw: float, rake: float,
               rjb: np.ndarray, vs30: np.ndarray, z1_m: np.ndarray | None) -> np.ndarray:
    pytest.importorskip("openquake.hazardlib")
    from openquake.hazardlib.contexts import simple_cmaker
    from openquake.hazardlib.gsim import boore_2014

    cls = {"global": boore_2014.BooreEtAl2014, "china_turkey": boore_2014.BooreEtAl2014HighQ,
           "italy_japan": boore_2014.BooreEtAl2014LowQ}[region]
    gsim = cls(region={None: "nobasin", "california": "CAL", "japan": "JPN"}[basin])
    cmaker = simple_cmaker([gsim], imts)
    ctx = cmaker.new_ctx(len(rjb))
    ctx.mag = mw
    ctx.rake = rake
    ctx.rjb = rjb
    ctx.rrup = rjb
    ctx.vs30 = vs30
    if z1_m is not None:
        ctx.z1pt0 = z1_m  # metres, the field exists once the basin model needs it
    out: np.ndarray = cmaker.get_mean_stds([ctx])[:, 0]  # (4: mean, sig, tau, phi; M; N)
    return out


OQ_IMTS = ["PGA", "PGV", "SA(0.01)", "SA(0.1)", "SA(0.2)", "SA(0.3)", "SA(1.0)", "SA(3.0)", "SA(10.0)"]


@pytest.mark.reference
@pytest.mark.parametrize("region", ["global", "china_turkey", "italy_japan"])
@pytest.mark.parametrize(("mw", "rake"), [(4.0, 0.0), (5.2, -90.0), (6.5, 90.0), (7.8, 180.0)])
def test_bssa14_matches_openquake(region: str, mw: float, rake: float) -> None:
    rng = np.random.default_rng(7)
    rjb = np.concatenate([[0.0, 1.0, 105.0, 300.0], rng.uniform(0.0, 400.0, 60)])
    # not Vs30 = 225 m/s exactly: there OpenQuake 3.26 subtracts dphi_V twice (both of its
    # "vs30 <= v1" and "v1 <= vs30 <= v2" branches apply); eq. (15) is continuous there.
    vs30 = np.concatenate([[150.0, 226.0, 300.0, 760.0, 1600.0], rng.uniform(150.0, 1500.0, 59)])
    oq = _oq_bssa14(region, None, OQ_IMTS, mw, rake, rjb, vs30, None)
    for m, imt in enumerate(OQ_IMTS):
        p = predict("BSSA14", imt, Rupture(0.0, 0.0, 10.0, mw, rake_deg=rake), _dist(rjb), vs30, region=region)
        np.testing.assert_allclose(p.ln_mean, oq[0, m], rtol=0, atol=2e-3, err_msg=imt)
        np.testing.assert_allclose(p.sigma_total, oq[1, m], rtol=1e-3, err_msg=imt)
        np.testing.assert_allclose(p.tau, oq[2, m], rtol=1e-3, err_msg=imt)
        np.testing.assert_allclose(p.phi, oq[3, m], rtol=1e-3, err_msg=imt)


@pytest.mark.reference
def test_bssa14_basin_term_matches_openquake() -> None:
    rjb = np.array([0.0, 20.0, 50.0, 100.0, 10.0])
    vs30 = np.array([200.0, 300.0, 450.0, 760.0, 250.0])
    z1_m = np.array([600.0, 50.0, 1500.0, 20.0, 3000.0])
    imts = ["PGA", "SA(0.5)", "SA(0.65)", "SA(1.0)", "SA(3.0)", "SA(7.5)"]
    oq = _oq_bssa14("global", "california", imts, 6.7, 0.0, rjb, vs30, z1_m)
    for m, imt in enumerate(imts):
        p = predict("BSSA14", imt, 6.7, _dist(rjb), vs30, z1_km=z1_m / 1000.0, mechanism="strike-slip",
                    basin="california")
        np.testing.assert_allclose(p.ln_mean, oq[0, m], rtol=0, atol=2e-3, err_msg=imt)


@pytest.mark.reference
def test_untabulated_period_interpolates_predictions_in_log_period() -> None:
    # the authors' tables list SA(0.21) and SA(0.23): between 0.2 and 0.22, 0.22 and 0.24
    d = _dist([10.0, 80.0])
    lo, hi, mid = (predict("BSSA14", f"SA({t})", 6.0, d, 400.0) for t in (0.2, 0.22, 0.21))
    w = math.log(0.21 / 0.2) / math.log(0.22 / 0.2)
    np.testing.assert_allclose(mid.ln_mean, (1 - w) * lo.ln_mean + w * hi.ln_mean, rtol=1e-12)
    np.testing.assert_allclose(mid.tau, (1 - w) * lo.tau + w * hi.tau, rtol=1e-12)


# --------------------------------------------------------------------------- registry contract


@pytest.mark.parametrize("model", sorted(GMPES))
@pytest.mark.parametrize("imt", ["PGA", "PGV", "SA(0.3)", "SA(0.33)"])
def test_registry_contract(model: str, imt: str) -> None:
    rng = np.random.default_rng(3)
    rjb = rng.uniform(0.0, 200.0, 7)
    d = SiteDistances(rjb.copy(), rjb.copy(), rjb, rjb.copy(), rjb.copy())
    vs30 = rng.uniform(200.0, 900.0, 7)
    before = (rjb.copy(), vs30.copy())
    p = predict(model, imt, Rupture(100.0, 30.0, 12.0, 6.0, strike_deg=10.0), d, vs30)
    np.testing.assert_array_equal(rjb, before[0])
    np.testing.assert_array_equal(vs30, before[1])
    assert p.imt == str(parse_imt(imt)) and p.model.startswith(model)
    for a in (p.ln_mean, p.sigma_total, p.tau, p.phi):
        assert a.dtype == np.float64 and a.shape == (7,) and np.isfinite(a).all()
    np.testing.assert_allclose(p.sigma_total, np.hypot(p.tau, p.phi), rtol=1e-14)
    scalar_vs30 = predict(model, imt, 6.0, d, 500.0)
    assert scalar_vs30.ln_mean.shape == (7,)
    with pytest.raises(ValueError, match="vs30_mps must be finite"):
        predict(model, imt, 6.0, d, np.full(7, np.nan))
    with pytest.raises(ValueError, match="rjb_km must be finite"):
        predict(model, imt, 6.0, _dist([1.0, np.nan]), 500.0)
    with pytest.raises(ValueError, match="broadcast"):
        predict(model, imt, 6.0, d, np.ones(3))


def test_bssa14_nan_z1_means_unknown_site() -> None:
    d = _dist([30.0, 30.0])
    with_nan = predict("BSSA14", "SA(2.0)", 6.5, d, 300.0, z1_km=[np.nan, 0.2], basin="japan")
    off = predict("BSSA14", "SA(2.0)", 6.5, d, 300.0)
    assert with_nan.ln_mean[0] == off.ln_mean[0]
    assert with_nan.ln_mean[1] != off.ln_mean[1]
    with pytest.raises(ValueError, match="z1_km must be given"):
        predict("BSSA14", "SA(2.0)", 6.5, d, 300.0, basin="japan")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"model": "ASK14"}, "model must be one of"),
        ({"imt": "SA(0.005)"}, r"within \[0.01, 10.0\]"),
        ({"imt": "SA(12)"}, r"within \[0.01, 10.0\]"),
        ({"imt": "MMI"}, "imt must be"),
        ({"imt": "SA(0)"}, "period must be > 0"),
        ({"rupture_or_mw": 11.0}, r"magnitude within \(0, 10\]"),
        ({"mechanism": "oblique"}, "mechanism must be one of"),
        ({"region": "mars"}, "region must be one of"),
        ({"basin": "taipei"}, "basin must be one of"),
    ],
)
def test_predict_rejects_invalid_input(kwargs: dict[str, Any], match: str) -> None:
    args: dict[str, Any] = {"model": "BSSA14", "imt": "PGA", "rupture_or_mw": 6.0}
    args.update(kwargs)
    model, imt, mw = args.pop("model"), args.pop("imt"), args.pop("rupture_or_mw")
    with pytest.raises(ValueError, match=match):
        predict(model, imt, mw, _dist([10.0]), 400.0, **args)


def test_parse_imt_canonical_strings() -> None:
    assert str(parse_imt("PGA")) == "PGA" and str(parse_imt(" PGV ")) == "PGV"
    assert str(parse_imt("SA(1)")) == "SA(1.0)" and parse_imt("SA(0.3)").period_s == 0.3


# --------------------------------------------------------------------------- rupture geometry


def test_slip_type_classes() -> None:
    assert [slip_type(r) for r in (0, 30, 31, 90, 149, 150, 180, -31, -90, -150, 359)] == [
        SlipType.STRIKE_SLIP, SlipType.STRIKE_SLIP, SlipType.REVERSE, SlipType.REVERSE, SlipType.REVERSE,
        SlipType.STRIKE_SLIP, SlipType.STRIKE_SLIP, SlipType.NORMAL, SlipType.NORMAL, SlipType.STRIKE_SLIP,
        SlipType.STRIKE_SLIP,
    ]


@pytest.mark.reference
@pytest.mark.parametrize(("rake", "a_l", "b_l", "a_w", "b_w"),
                         [(0.0, -2.57, 0.62, -0.76, 0.27), (90.0, -2.44, 0.59, -1.01, 0.32)])
def test_wells_coppersmith_dimensions(rake: float, a_l: float, b_l: float, a_w: float, b_w: float) -> None:
    # Wells & Coppersmith (1994) Table 2A: RLD and RW, strike-slip or all slip types
    r = Rupture(0.0, 0.0, 15.0, 7.0, strike_deg=0.0, rake_deg=rake)
    assert r.length_km == pytest.approx(10 ** (a_l + b_l * 7.0), rel=1e-12)
    assert r.width_km == pytest.approx(10 ** (a_w + b_w * 7.0), rel=1e-12)
    assert Rupture(0.0, 0.0, 15.0, 7.0).length_km is None  # point source keeps None


def test_plane_moved_down_until_top_at_surface() -> None:
    r = Rupture(0.0, 0.0, 2.0, 6.0, strike_deg=0.0, dip_deg=60.0, width_km=20.0, length_km=10.0)
    assert r.ztor_km == pytest.approx(0.0, abs=1e-12)
    deep = Rupture(0.0, 0.0, 15.0, 6.0, strike_deg=0.0, dip_deg=60.0, width_km=20.0, length_km=10.0)
    assert deep.ztor_km == pytest.approx(15.0 - 10.0 * math.sin(math.radians(60.0)), rel=1e-12)


@pytest.mark.reference
def test_vertical_strike_slip_analytic_distances() -> None:
    # north-striking vertical plane centred on (0, 0), top 5 km, bottom 15 km, 40 km long
    r = Rupture(0.0, 0.0, 10.0, 6.5, strike_deg=0.0, dip_deg=90.0, length_km=40.0, width_km=10.0)
    north_km = np.array([0.0, 10.0, -19.0, 0.0, 0.0, 30.0])
    east_km = np.array([0.0, 0.0, 0.0, 12.0, -7.0, 0.0])
    d = site_distances(r, east_km / KM_PER_DEG, north_km / KM_PER_DEG)
    np.testing.assert_allclose(d.rjb_km, [0.0, 0.0, 0.0, 12.0, 7.0, 10.0], atol=1e-6)
    np.testing.assert_allclose(d.rrup_km, [5.0, 5.0, 5.0, 13.0, math.hypot(7, 5), math.hypot(10, 5)], atol=1e-6)
    np.testing.assert_allclose(d.rx_km, [0.0, 0.0, 0.0, 12.0, -7.0, 0.0], atol=1e-6)  # dips to the east
    np.testing.assert_allclose(d.repi_km, np.hypot(north_km, east_km), rtol=1e-6)
    np.testing.assert_allclose(d.rhypo_km, np.hypot(d.repi_km, 10.0), rtol=1e-12)


@pytest.mark.reference
def test_dipping_plane_analytic_distances() -> None:
    dip = 30.0
    r = Rupture(0.0, 0.0, 10.0, 6.5, strike_deg=90.0, dip_deg=dip, length_km=100.0, width_km=16.0)
    ztor = r.ztor_km
    assert ztor == pytest.approx(10.0 - 8.0 * math.sin(math.radians(dip)))
    # strike east: dips south.  Top edge is 8 cos(dip) km north of the epicentre.
    top_north = 8.0 * math.cos(math.radians(dip))
    x = np.array([-5.0, 3.0, 5.0, 10.0, 30.0])  # horizontal distance from the top edge, + down dip (south)
    d = site_distances(r, np.zeros(5), (top_north - x) / KM_PER_DEG)
    s, c = math.sin(math.radians(dip)), math.cos(math.radians(dip))
    # footwall and x < ztor tan(dip): closest point on the top edge; 5 and 10 km: perpendicular
    # to the plane; 30 km: beyond the bottom edge (16 cos(dip) km from the top, 14 km deep)
    expected_rrup = [math.hypot(5.0, ztor), math.hypot(3.0, ztor), 5.0 * s + ztor * c, 10.0 * s + ztor * c,
                     math.hypot(30.0 - 16.0 * c, ztor + 16.0 * s)]
    np.testing.assert_allclose(d.rrup_km, expected_rrup, rtol=1e-5)
    np.testing.assert_allclose(d.rx_km, x, atol=1e-5)
    np.testing.assert_allclose(d.rjb_km, [5.0, 0.0, 0.0, 0.0, 30.0 - 16.0 * c], atol=1e-5)


@pytest.mark.reference
def test_point_source_distances_and_great_circle() -> None:
    r = Rupture(10.0, 45.0, 8.0, 5.0)
    d = site_distances(r, [10.0, 11.0], [46.0, 45.0])
    one_deg_lat = KM_PER_DEG
    one_deg_lon = 2 * EARTH_RADIUS_KM * math.asin(math.cos(math.radians(45.0)) * math.sin(math.radians(0.5)))
    np.testing.assert_allclose(d.repi_km, [one_deg_lat, one_deg_lon], rtol=1e-12)
    np.testing.assert_array_equal(d.rjb_km, d.repi_km)
    np.testing.assert_allclose(d.rrup_km, np.hypot(d.repi_km, 8.0), rtol=1e-15)
    assert np.isnan(d.rx_km).all()


def _oq_planar(r: Rupture) -> Any:
    pytest.importorskip("openquake.hazardlib")
    from openquake.hazardlib.geo import Point
    from openquake.hazardlib.geo.geodetic import point_at
    from openquake.hazardlib.geo.surface.planar import PlanarSurface

    assert r.strike_deg is not None and r.length_km is not None and r.width_km is not None
    st, dip = r.strike_deg, math.radians(r.dip_deg)
    shift = (r.centre_depth_km - r.depth_km) / math.sin(dip)
    c = point_at(r.lon, r.lat, (st + 90) % 360, shift * math.cos(dip))
    half_h = 0.5 * r.width_km * math.cos(dip)
    top = point_at(c[0], c[1], (st - 90) % 360, half_h)
    bot = point_at(c[0], c[1], (st + 90) % 360, half_h)
    zt, zb = r.ztor_km, r.ztor_km + r.width_km * math.sin(dip)
    corners = [point_at(top[0], top[1], (st + 180) % 360, r.length_km / 2) + (zt,),
               point_at(top[0], top[1], st, r.length_km / 2) + (zt,),
               point_at(bot[0], bot[1], st, r.length_km / 2) + (zb,),
               point_at(bot[0], bot[1], (st + 180) % 360, r.length_km / 2) + (zb,)]
    return PlanarSurface.from_corner_points(*(Point(*p) for p in corners))


@pytest.mark.reference
@pytest.mark.parametrize(("strike", "dip", "depth", "mw"), [(229.0, 33.0, 14.0, 7.9), (10.0, 90.0, 10.0, 6.5),
                                                             (300.0, 60.0, 3.0, 7.0), (120.0, 45.0, 12.0, 6.0)])
def test_distances_match_openquake_planar_surface(strike: float, dip: float, depth: float, mw: float) -> None:
    pytest.importorskip("openquake.hazardlib")
    from openquake.hazardlib.geo import Mesh

    r = Rupture(103.4, 31.0, depth, mw, strike_deg=strike, dip_deg=dip, rake_deg=90.0)
    surf = _oq_planar(r)
    rng = np.random.default_rng(11)
    lon = r.lon + rng.uniform(-1.2, 1.2, 400)
    lat = r.lat + rng.uniform(-1.0, 1.0, 400)
    d = site_distances(r, lon, lat)
    mesh = Mesh(lon, lat)
    # different Earth models: ours flat around the epicentre, OpenQuake's plane flat in
    # Earth-centred coordinates; they part by up to the sagitta of the plane's half-diagonal
    assert r.length_km is not None and r.width_km is not None
    half_diag2 = (r.length_km / 2) ** 2 + (r.width_km * math.cos(math.radians(dip)) / 2) ** 2
    atol = 0.1 + half_diag2 / (2.0 * EARTH_RADIUS_KM)
    for ours, theirs in ((d.rjb_km, surf.get_joyner_boore_distance(mesh)),
                         (d.rrup_km, surf.get_min_distance(mesh)),
                         (d.rx_km, surf.get_rx_distance(mesh))):
        np.testing.assert_allclose(ours, theirs, rtol=2e-3, atol=atol)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lat": 91.0}, r"lat must be within \[-90.0, 90.0\]"),
        ({"lon": -181.0}, r"lon must be within \[-180.0, 180.0\]"),
        ({"depth_km": -1.0}, r"depth_km must be within \[0.0, 700.0\]"),
        ({"mw": 0.0}, r"mw must be within \(0.0, 10.0\]"),
        ({"dip_deg": 0.0}, r"dip_deg must be within \(0, 90\]"),
        ({"rake_deg": 200.0}, r"rake_deg must be within \[-180.0, 180.0\]"),
        ({"length_km": -3.0}, "length_km must be > 0"),
        ({"strike_deg": float("nan")}, "strike_deg must be finite"),
    ],
)
def test_rupture_validation(kwargs: dict[str, Any], match: str) -> None:
    args: dict[str, Any] = {"lon": 0.0, "lat": 0.0, "depth_km": 10.0, "mw": 6.0, "strike_deg": 0.0}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        Rupture(**args)


def test_site_distances_validation_and_no_mutation() -> None:
    r = Rupture(0.0, 0.0, 10.0, 6.0, strike_deg=45.0)
    lon = np.array([[0.1, 0.2], [0.3, 0.4]])
    lat = np.array([0.0, 0.1])
    before = lon.copy()
    d = site_distances(r, lon, lat)
    np.testing.assert_array_equal(lon, before)
    assert d.rjb_km.shape == (2, 2) and d.rjb_km.dtype == np.float64
    assert (d.rrup_km >= d.rjb_km - 1e-9).all() and (d.rhypo_km >= d.repi_km).all()
    with pytest.raises(ValueError, match="lon and lat must be finite"):
        site_distances(r, [np.nan], [0.0])
    with pytest.raises(ValueError, match="broadcast"):
        site_distances(r, [0.0, 1.0, 2.0], [0.0, 1.0])


# --------------------------------------------------------------------------- intensity


def _oq_coeffs(name: str) -> dict[str, float]:
    """The intensity relations in the parameterisation of OpenQuake's yu_2013.rbf (ln, no M term in R0)."""
    c = INTENSITY_MODELS[name]
    co = {"a": c.a_major, "b": c.b_major, "c": c.c_major / math.log(10.0), "d": c.r0_major_km, "e": 0.0,
          "ma": c.a_minor, "mb": c.b_minor, "mc": c.c_minor / math.log(10.0), "md": c.r0_minor_km, "me": 0.0}
    for k in "abcde":
        co["u" + k] = co[k]
        co["i" + k] = co["m" + k]
    return co


@pytest.mark.reference
@pytest.mark.parametrize("model", sorted(INTENSITY_MODELS))
def test_isoseismal_ellipse_matches_openquake_solver(model: str) -> None:
    pytest.importorskip("openquake.hazardlib")
    from openquake.hazardlib.gsim.yu_2013 import get_ras

    r = Rupture(103.4, 31.0, 14.0, 7.0, strike_deg=40.0)
    rng = np.random.default_rng(5)
    lon = r.lon + rng.uniform(-1.0, 1.0, 150)
    lat = r.lat + rng.uniform(-1.0, 1.0, 150)
    pred = predict_intensity(model, r, lon, lat)
    x, y, d = local_xy(r.lon, r.lat, lon, lat)
    theta = np.degrees(np.arctan2(x, y)) - 40.0  # azimuth from the long axis
    co = _oq_coeffs(model)
    ras = np.array([get_ras(di, ti, pred.magnitude_ms, co) for di, ti in zip(d, theta)])
    expected = INTENSITY_MODELS[model].intensity_major(pred.magnitude_ms, ras)
    np.testing.assert_allclose(pred.mean, expected, atol=2e-4)  # OpenQuake stops at 1e-3 km


@pytest.mark.reference
@pytest.mark.parametrize("model", sorted(INTENSITY_MODELS))
def test_intensity_on_the_axes_and_circle(model: str) -> None:
    c = INTENSITY_MODELS[model]
    ms = 6.8
    dist = np.array([5.0, 30.0, 120.0])
    r = Rupture(0.0, 0.0, 10.0, 7.0, strike_deg=0.0)  # long axis north-south
    along = predict_intensity(model, r, np.zeros(3), dist / KM_PER_DEG, magnitude_ms=ms)
    across = predict_intensity(model, r, dist / KM_PER_DEG, np.zeros(3), magnitude_ms=ms)
    np.testing.assert_allclose(along.mean, c.a_major + c.b_major * ms + c.c_major * np.log10(dist + c.r0_major_km),
                               atol=1e-8)
    np.testing.assert_allclose(across.mean, c.a_minor + c.b_minor * ms + c.c_minor * np.log10(dist + c.r0_minor_km),
                               atol=1e-8)
    np.testing.assert_array_equal(along.sigma, c.sigma)
    # no strike: circle with the isoseismal's area, sqrt(Ra(I) Rb(I)) = r
    point = predict_intensity(model, Rupture(0.0, 0.0, 10.0, 7.0), np.zeros(3), dist / KM_PER_DEG, magnitude_ms=ms)
    ra = 10 ** ((point.mean - c.a_major - c.b_major * ms) / c.c_major) - c.r0_major_km
    rb = 10 ** ((point.mean - c.a_minor - c.b_minor * ms) / c.c_minor) - c.r0_minor_km
    np.testing.assert_allclose(np.sqrt(ra * rb), dist, rtol=1e-8)
    assert (across.mean <= point.mean + 1e-12).all() and (point.mean <= along.mean + 1e-12).all()


@pytest.mark.reference
@pytest.mark.parametrize("model", sorted(INTENSITY_MODELS))
def test_published_coefficients_share_one_epicentral_intensity(model: str) -> None:
    c = INTENSITY_MODELS[model]
    i_a = c.a_major + c.c_major * math.log10(c.r0_major_km)
    i_b = c.a_minor + c.c_minor * math.log10(c.r0_minor_km)
    assert abs(i_a - i_b) < 4e-4
    assert c.b_major == c.b_minor


@pytest.mark.reference
def test_ms_from_mw_cheng_2017() -> None:
    assert ms_from_mw(5.75) == pytest.approx((5.75 - 0.59) / 0.86)
    assert ms_from_mw(7.9) == pytest.approx((7.9 + 2.42) / 1.28)
    with pytest.raises(ValueError, match=r"mw must be within \(0, 10\]"):
        ms_from_mw(-1.0)


def test_intensity_contract() -> None:
    r = Rupture(103.4, 31.0, 14.0, 7.9, strike_deg=229.0, dip_deg=33.0)
    rng = np.random.default_rng(9)
    lon = r.lon + rng.uniform(-2, 2, (4, 5))
    lat = r.lat + rng.uniform(-2, 2, (4, 5))
    before = lon.copy()
    p = predict_intensity("Yu2013Tibet", r, lon, lat)
    np.testing.assert_array_equal(lon, before)
    assert p.mean.shape == (4, 5) and p.mean.dtype == np.float64 and np.isfinite(p.mean).all()
    epicentre = predict_intensity("Yu2013Tibet", r, r.lon, r.lat)
    assert epicentre.mean.shape == () and (p.mean < epicentre.mean).all()
    # symmetric about the long axis and insensitive to a 180-degree strike flip
    flipped = predict_intensity("Yu2013Tibet", Rupture(103.4, 31.0, 14.0, 7.9, strike_deg=49.0), lon, lat)
    np.testing.assert_allclose(flipped.mean, p.mean, atol=1e-9)
    with pytest.raises(ValueError, match="model must be one of"):
        predict_intensity("Yu2013", r, lon, lat)
    with pytest.raises(ValueError, match=r"magnitude_ms must be within \(0, 10\]"):
        predict_intensity("Yu2013Tibet", r, lon, lat, magnitude_ms=float("nan"))
