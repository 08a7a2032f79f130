"""``quakewatch loss --scenario``: the pipeline against closed forms and published models.

Oracles: the mean of a lognormal fragility over a lognormal ground motion is
again a lognormal CDF, ``Phi((mu - ln theta) / sqrt(beta^2 + sigma^2))``
(no truncation); the PAGER empirical model recomputed here from its
published form with ``math.erf``; the BSSA14 median recomputed through the
GMPE module's own verification (tests/test_gmpe.py) is not repeated.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from loss_cases import write_scenario
from quakewatch.ext import gmpe
from quakewatch.ext.rupture import Rupture, site_distances
from quakewatch.server.decision.nrml import InputFileError
from quakewatch.server.decision.scenario import run_scenario_file
from quakewatch.server.decision.scenario_spec import load_scenario


def _phi(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def _one_asset(tmp_path: Path, realisations: int, truncation: str = "null") -> Path:
    d = tmp_path / "one"
    d.mkdir()
    (d / "exposure.xml").write_text(
        '<?xml version="1.0"?><nrml xmlns="http://openquake.org/xmlns/nrml/0.5">'
        '<exposureModel id="e" category="buildings" taxonomySource="t"><description>d</description>'
        '<conversions><costTypes><costType name="structural" type="aggregated" unit="CNY"/></costTypes>'
        '</conversions><occupancyPeriods>night</occupancyPeriods><assets>'
        '<asset id="A" taxonomy="T" number="10"><location lon="112.60" lat="37.90"/>'
        '<costs><cost type="structural" value="1e6"/></costs>'
        '<occupancies><occupancy period="night" occupants="40"/></occupancies></asset>'
        "</assets></exposureModel></nrml>")
    (d / "fragility.xml").write_text(
        '<?xml version="1.0"?><nrml xmlns="http://openquake.org/xmlns/nrml/0.5">'
        '<fragilityModel id="f" assetCategory="buildings" lossCategory="structural">'
        "<description>d</description><limitStates>slight complete</limitStates>"
        '<fragilityFunction id="T" format="continuous" shape="logncdf"><imls imt="PGA"/>'
        '<params ls="slight" mean="0.15" stddev="0.08"/><params ls="complete" mean="0.6" stddev="0.4"/>'
        "</fragilityFunction></fragilityModel></nrml>")
    (d / "scenario.yaml").write_text(f"""version: 1
name: one asset
rupture: {{lon: 112.50, lat: 37.80, depth_km: 10, mw: 6.3}}
exposure: exposure.xml
fragility: fragility.xml
casualty_model: none
ground_motion: {{vs30_mps: 360, realisations: {realisations}, seed: 7, truncation_level: {truncation}}}
""")
    return d / "scenario.yaml"


@pytest.mark.reference
def test_monte_carlo_damage_converges_to_the_lognormal_closed_form(tmp_path: Path) -> None:
    path = _one_asset(tmp_path, realisations=40_000)
    est, _ = run_scenario_file(path)
    rup = Rupture(lon=112.50, lat=37.80, depth_km=10, mw=6.3)
    pred = gmpe.predict("BSSA14", "PGA", rup, site_distances(rup, np.array([112.60]), np.array([37.90])), 360.0)
    mu, sigma = float(pred.ln_mean[0]), float(pred.sigma_total[0])
    expected = []
    for m, s in ((0.15, 0.08), (0.6, 0.4)):
        beta = math.sqrt(math.log1p((s / m) ** 2))
        theta = m * m / math.sqrt(s * s + m * m)
        expected.append(_phi((mu - math.log(theta)) / math.sqrt(beta**2 + sigma**2)))
    poe = [1 - est.damage["structural"][0, 0], est.damage["structural"][0, 2]]
    for got, want in zip(poe, expected):
        se = math.sqrt(want * (1 - want) / 40_000) * 3  # generous: each realisation is one draw
        assert abs(got - want) <= 4 * se + 1e-3, (got, want)


@pytest.mark.reference
def test_pager_cross_check_is_the_published_model(tmp_path: Path) -> None:
    path = write_scenario(tmp_path / "s", n_assets=200, realisations=20)
    est, extra = run_scenario_file(path)
    spec, base = load_scenario(path)
    rup = Rupture(**{k: v for k, v in spec.rupture.model_dump().items() if v is not None})
    lon, lat = est.lon, est.lat
    pgv = gmpe.predict("BSSA14", "PGV", rup, site_distances(rup, lon, lat), 400.0)
    pgv_cms = np.exp(pgv.ln_mean)
    # Worden et al. (2012) PGV branch (REFERENCES.md), then PAGER China theta/beta by integer MMI bins 5..9
    logy = np.log10(pgv_cms)
    mmi = np.clip(np.where(logy <= 0.53, 3.78 + 1.47 * logy, 2.89 + 3.16 * logy), 1, 10)
    night = np.array([a["night"] for a in _exposure_rows(base)])
    deaths = 0.0
    for level in range(5, 11):
        pop = night[(mmi >= level - 0.5) & (mmi < level + 0.5)].sum()
        s = min(level, 9)
        deaths += pop * _phi(math.log(s / 10.328811) / 0.100058)
    assert extra["pager"]["empirical_fatalities"] == pytest.approx(deaths, rel=1e-9)


def _exposure_rows(base: Path) -> list[dict[str, float]]:
    import csv

    with (base / "exposure.csv").open() as handle:
        return [{"night": float(r["night"])} for r in csv.DictReader(handle)]


def test_totals_are_sums_of_assets_and_levels_follow_deaths(tmp_path: Path) -> None:
    est, extra = run_scenario_file(write_scenario(tmp_path / "s", n_assets=300, realisations=30))
    for name in ("severity_4", "homeless"):
        assert est.totals[f"{name}:structural"].mean == pytest.approx(est.casualties[name].sum(), rel=1e-9)
    fractions = est.damage["structural"]
    assert np.allclose(fractions.sum(axis=1), 1.0)
    assert (fractions >= 0).all()
    deaths = est.casualties["severity_4"].sum()
    level = extra["response_level"]["level"]
    expected = "I" if deaths >= 300 else "II" if deaths >= 50 else "III" if deaths >= 10 else "IV" if deaths >= 1 else None
    assert level == expected or extra["response_level"]["basis"] != "loss_estimate"


def test_same_seed_same_answer_and_realisations_change_it(tmp_path: Path) -> None:
    path = write_scenario(tmp_path / "s", n_assets=100, realisations=12)
    a, _ = run_scenario_file(path)
    b, _ = run_scenario_file(path)
    assert np.array_equal(a.damage["structural"], b.damage["structural"])
    assert a.n_events == 12


def test_cli_json_has_assets_and_totals(tmp_path: Path) -> None:
    path = write_scenario(tmp_path / "s", n_assets=50, realisations=5)
    out = subprocess.run([sys.executable, "-m", "quakewatch.clients.cli", "loss", "--scenario", str(path), "--json",
                          "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert len(doc["assets"]) == 50
    first = doc["assets"][0]
    assert {"id", "damage", "losses", "casualties"} <= set(first)
    assert set(first["damage"]["structural"]) == {"no_damage", "slight", "moderate", "extensive", "complete"}
    assert {"damage", "losses", "casualties", "distribution"} <= set(doc["totals"])
    assert doc["response_level"]["rule_table"].startswith("cn-national-2012")
    assert doc["pager"]["alert"] in {"green", "yellow", "orange", "red"}
    for name in ("estimate.json", "assets.csv", "assets.geojson"):
        assert (tmp_path / "out" / name).stat().st_size > 0
    geo = json.loads((tmp_path / "out" / "assets.geojson").read_text())
    assert len(geo["features"]) == 50


@pytest.mark.parametrize(("edit", "message"), [
    ("rupture: {lon: 112.5, lat: 37.8, depth_km: 10, mw: 12}", r"rupture\.mw"),
    ("rupture: {lon: 112.5, lat: 37.8, depth_km: 10, mw: 6, colour: red}", r"rupture\.colour"),
    ("ground_motion: {realisations: 0}", r"ground_motion\.realisations"),
])
def test_bad_scenarios_name_the_field(tmp_path: Path, edit: str, message: str) -> None:
    path = write_scenario(tmp_path / "s", n_assets=10, realisations=2)
    lines = [ln for ln in path.read_text().splitlines() if not ln.startswith(edit.split(":")[0] + ":")]
    path.write_text("\n".join([*lines, edit]) + "\n")
    with pytest.raises(InputFileError, match=message):
        run_scenario_file(path)


@pytest.mark.reference
def test_an_asset_on_a_station_takes_the_observed_motion(tmp_path: Path) -> None:
    """Conditioning with sigma 0: the field at the station's site is the observation in every
    realisation, so the damage is the fragility at the observed value (closed form)."""
    path = _one_asset(tmp_path, realisations=50, truncation="3")
    (path.parent / "stations.csv").write_text("lon,lat,imt,value\n112.60,37.90,PGA,0.42\n113.10,38.30,PGA,0.05\n")
    path.write_text(path.read_text().replace("truncation_level: 3}", "truncation_level: 3, stations: stations.csv}"))
    est, extra = run_scenario_file(path)
    assert extra["ground_motion"]["conditioned_on"] == ["PGA"]
    poe = []
    for m, s in ((0.15, 0.08), (0.6, 0.4)):
        beta = math.sqrt(math.log1p((s / m) ** 2))
        theta = m * m / math.sqrt(s * s + m * m)
        poe.append(_phi(math.log(0.42 / theta) / beta))
    fr = est.damage["structural"][0]
    assert fr[0] == pytest.approx(1 - poe[0], abs=1e-9)
    assert fr[2] == pytest.approx(poe[1], abs=1e-9)


def test_pager_cross_check_can_use_the_china_intensity_attenuation(tmp_path: Path) -> None:
    from quakewatch.ext.intensity_attenuation import predict_intensity

    path = write_scenario(tmp_path / "s", n_assets=150, realisations=4,
                          extra="")
    text = path.read_text().replace("usd_per_unit: 0.14}", "usd_per_unit: 0.14, intensity_model: Yu2013Eastern}")
    path.write_text(text)
    est, extra = run_scenario_file(path)
    spec, base = load_scenario(path)
    rup = Rupture(**{k: v for k, v in spec.rupture.model_dump().items() if v is not None})
    intensity = predict_intensity("Yu2013Eastern", rup, est.lon, est.lat).mean
    night = np.array([a["night"] for a in _exposure_rows(base)])
    deaths = 0.0
    for level in range(5, 11):
        pop = night[(intensity >= level - 0.5) & (intensity < level + 0.5)].sum()
        deaths += pop * _phi(math.log(min(level, 9) / 10.328811) / 0.100058)
    assert extra["pager"]["empirical_fatalities"] == pytest.approx(deaths, rel=1e-9)
    assert "Yu2013Eastern" in extra["pager"]["model"]
