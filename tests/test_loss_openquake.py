"""``quakewatch loss --oq-job`` against the OpenQuake engine itself (acceptance 1 of [4]).

The engine (openquake.engine 3.26, installed with --no-deps) runs every job in
a subprocess (``tests/openquake_oracle.py``) and its per-asset damage
distributions, consequences and losses and its portfolio totals are the
expected values.  Jobs: the engine's own QA cases that come with
ground-motion fields as CSV, and synthetic jobs written in the engine's file
formats (``tests/loss_cases.py``) that exercise every convention we
reproduce.  ``discrete_damage_distribution = false`` and ``ignore_covs =
true`` are set in every job (the engine otherwise samples integers of
buildings and loss ratios; we report expected values).

Tolerance: 1e-5 relative per asset and 1e-6 relative on the totals, beyond
the engine's own float32 rounding: the engine stores damage counts in float32
and reports no-damage as ``number - sum(damaged)``, so a count can carry an
absolute error of a few float32 epsilons of the asset's number.
"""

from __future__ import annotations

import configparser
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from loss_cases import CaseSpec, write_case
from quakewatch.server.decision.estimate import LossEstimate
from quakewatch.server.decision.openquake_job import estimate_from_job, read_job

pytestmark = pytest.mark.reference

EPS32 = float(np.finfo(np.float32).eps)
HAVE_OQ = importlib.util.find_spec("openquake") is not None and importlib.util.find_spec("openquake.engine") is not None
if not HAVE_OQ and os.environ.get("CI") == "true":
    raise RuntimeError("CI needs openquake.engine as the loss oracle: pip install --no-deps openquake.engine==3.26.2 "
                       "and its core dependencies (README, set-up)")
needs_oq = pytest.mark.skipif(not HAVE_OQ, reason="openquake.engine is not installed (the oracle); "
                              "see README 'Loss estimation' for the --no-deps install")

#: the engine's QA jobs that read ground-motion fields from CSV (case, job file)
QA_JOBS = [
    ("scenario_damage/case_1", "job_risk.ini"),
    ("scenario_damage/case_2", "job_risk.ini"),
    ("scenario_damage/case_3", "job_risk.ini"),
    ("scenario_damage/case_17", "job_no_time_event.ini"),
    ("scenario_damage/case_17", "job_time_event_day.ini"),
    ("scenario_damage/case_18", "job.ini"),
    ("scenario_risk/case_1", "job_risk.ini"),
    ("scenario_risk/case_2", "job_risk.ini"),
    ("scenario_risk/case_7", "job.ini"),
    ("scenario_risk/case_8", "job.ini"),
    ("scenario_risk/case_9", "job.ini"),
    ("scenario_risk/case_11", "job.ini"),
]
SYNTHETIC = {
    "damage-inline-sites-night": CaseSpec(seed=11),
    "damage-site-csv-day": CaseSpec(seed=12, site_file=True, time_event="day"),
    "damage-avg-transit-heavy-missing": CaseSpec(seed=13, time_event="transit", missing_fraction=0.3),
    "damage-plain-sites-contents": CaseSpec(seed=14, plain_sites=True, site_file=True, contents=True),
    "risk-inline-sites": CaseSpec(seed=21, mode="scenario_risk"),
    "risk-site-csv-avg": CaseSpec(seed=22, mode="scenario_risk", site_file=True, time_event="avg"),
    "risk-plain-sites-contents": CaseSpec(seed=23, mode="scenario_risk", site_file=True, plain_sites=True,
                                          contents=True, time_event="day"),
}


def _expected_values(job: Path) -> None:
    """Ask the engine for expected values, as we report them."""
    ini = configparser.ConfigParser(interpolation=None)
    ini.read(job)
    for section in ini.sections():
        for key in ("discrete_damage_distribution", "ignore_covs"):
            ini.remove_option(section, key)
    section = ini.sections()[0]
    ini[section]["discrete_damage_distribution"] = "false"
    ini[section]["ignore_covs"] = "true"
    with job.open("w") as handle:
        ini.write(handle)


@pytest.fixture(scope="module")
def engine_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, Any]]]:
    if not HAVE_OQ:
        pytest.skip("openquake.engine is not installed")
    import openquake.qa_tests_data as qa

    root = tmp_path_factory.mktemp("oq")
    qa_dir = Path(qa.__path__[0])
    jobs: dict[str, Path] = {}
    for case, name in QA_JOBS:
        target = root / case
        if not target.exists():
            shutil.copytree(qa_dir / case, target)
            shutil.copy(qa_dir / case.split("/")[0] / "gmf_scenario.csv", target.parent) \
                if (qa_dir / case.split("/")[0] / "gmf_scenario.csv").exists() else None
        jobs[f"{case}/{name}"] = target / name
    for name, spec in SYNTHETIC.items():
        jobs[name] = write_case(root / "synthetic" / name, spec)
    for job in jobs.values():
        _expected_values(job)
    home = root / "home"
    home.mkdir()
    args = [str(a) for job in jobs.values() for a in (job, job.with_suffix(".oq.json"))]
    oracle = Path(__file__).with_name("openquake_oracle.py")
    env = {**os.environ, "HOME": str(home), "OQ_DISTRIBUTE": "no"}
    done = subprocess.run([sys.executable, str(oracle), *args], env=env, capture_output=True, text=True,
                          timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"the engine failed: {done.stderr[-2000:]}")
    out = {}
    for key, job in jobs.items():
        result = json.loads(job.with_suffix(".oq.json").read_text())
        if "error" in result:
            raise RuntimeError(f"the engine refused {key}: {result['error']}")
        out[key] = (job, result)
    return out


def _ours(est: LossEstimate) -> dict[str, dict[str, float]]:
    """Our results in the engine's column names (counts of buildings, consequences, losses)."""
    table: dict[str, dict[str, float]] = {}
    for i, aid in enumerate(est.asset_ids.tolist()):
        row: dict[str, float] = {}
        for lt, fractions in est.damage.items():
            for k, state in enumerate(est.damage_states):
                row[f"{lt}-{state}"] = float(fractions[i, k] * est.number[i])
        for name, values in {**est.casualties, **est.other}.items():
            base, _, lt = name.partition(":")
            row[f"{lt or 'structural'}-{base}"] = float(values[i])
            row[name] = float(values[i])  # vulnerability losses of occupants / residents
        for lt, values in est.losses.items():
            row[lt] = float(values[i])
            row[f"{lt}-losses"] = float(values[i])
        table[aid] = row
    return table


def _totals(est: LossEstimate, mode: str) -> dict[str, float]:
    out: dict[str, float] = {}
    loss = "loss" if mode == "scenario_risk" else "losses"  # the engine's column names
    for key, summary in est.totals.items():
        a, _, b = key.partition(":")
        if a in ("structural", "nonstructural", "contents", "business_interruption"):
            k = est.damage_states.index(b)
            out[f"{a}:dmg_{k}"] = summary.mean
        elif a == "losses":
            out[f"{b}:{loss}"] = summary.mean
        else:
            out[f"{b}:{a}"] = summary.mean
    return out


CASES = [f"{c}/{n}" for c, n in QA_JOBS] + list(SYNTHETIC)


@needs_oq
@pytest.mark.parametrize("case", CASES)
def test_per_asset_results_match_the_engine(case: str, engine_runs: dict[str, tuple[Path, dict[str, Any]]]) -> None:
    job, oq = engine_runs[case]
    est = estimate_from_job(read_job(job))
    ours = _ours(est)
    assert set(oq["assets"]) == set(ours), "the same assets kept (region, distance)"
    number = dict(zip(est.asset_ids.tolist(), est.number.tolist()))
    checked = 0
    for aid, columns in oq["assets"].items():
        for column, expected in columns.items():
            got = ours[aid].get(column, 0.0)  # the engine lists consequences a loss type has no rows for as 0
            floor = 8 * EPS32 * max(number[aid], abs(expected))
            assert abs(got - expected) <= 1e-5 * abs(expected) + floor, (aid, column, got, expected)
            checked += 1
    assert checked >= len(oq["assets"])


@needs_oq
@pytest.mark.parametrize("case", CASES)
def test_totals_match_the_engine(case: str, engine_runs: dict[str, tuple[Path, dict[str, Any]]]) -> None:
    job, oq = engine_runs[case]
    parsed = read_job(job)
    ours = _totals(estimate_from_job(parsed), parsed.mode)
    assert oq["aggregate"], "the engine reported totals"
    loss_types = {k.split(":")[0] for k in oq["aggregate"] if ":dmg_" in k}
    for key, expected in oq["aggregate"].items():
        if key.endswith(":dmg_0") and len(loss_types) > 1:
            # engine 3.26 post_risk: dmg_0 = number - damaged / (n_events * n_loss_types), with the
            # damaged count already per loss type: with two loss types its no-damage total is too
            # large (its own per-asset no-damage counts do not add up to it). Not reproduced.
            continue
        got = ours.get(key, 0.0)
        # the engine sums float32 counts: a total carries ~sqrt(n) float32 roundings of its size
        floor = 4 * EPS32 * abs(expected) * np.sqrt(max(len(oq["assets"]), 1))
        assert abs(got - expected) <= 1e-6 * abs(expected) + floor, (key, got, expected)


def test_site_order_follows_the_engine(tmp_path: Path) -> None:
    """Inline sites are numbered after sorting by (lon, lat): sid 0 is the westernmost."""
    job = write_case(tmp_path / "c", CaseSpec(n_assets=30, n_sites=6, n_events=3, seed=5))
    parsed = read_job(job)
    order = np.lexsort((parsed.site_lat, parsed.site_lon))
    assert np.array_equal(order, np.arange(parsed.site_lon.size))


def test_dask_cluster_gives_the_in_process_answer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same job on a two-worker LocalCluster, cut into small chunks: identical per asset."""
    distributed = pytest.importorskip("distributed")
    from quakewatch.server.decision import distributed as backend

    job = read_job(write_case(tmp_path / "c", CaseSpec(n_assets=600, n_sites=40, n_events=12, seed=31)))
    here = estimate_from_job(job)
    monkeypatch.setattr(backend, "DEFAULT_CHUNK_ASSETS", 100)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        there = estimate_from_job(job, client=client)
    # the same rows, the same event blocks: the same numbers (chunks only change which sites
    # share a block, not the order of the sums)
    assert np.allclose(here.damage["structural"], there.damage["structural"], rtol=1e-13, atol=0)
    for name in here.casualties:
        assert np.allclose(here.casualties[name], there.casualties[name], rtol=1e-13, atol=0)
    for key, summary in here.totals.items():
        assert there.totals[key].mean == pytest.approx(summary.mean, rel=1e-12)


def test_chunks_never_split_a_site() -> None:
    from quakewatch.server.decision.distributed import chunks_by_site

    sites = np.array([3, 1, 1, 2, 3, 3, 0, 2, 1, 0], dtype=np.int64)
    parts = chunks_by_site(sites, 3)
    assert sorted(np.concatenate(parts).tolist()) == list(range(sites.size))
    owner = {}
    for i, rows in enumerate(parts):
        for s in sites[rows]:
            assert owner.setdefault(int(s), i) == i


@pytest.mark.parametrize(("edit", "message"), [
    (("job.ini", "calculation_mode = scenario_damage", "calculation_mode = classical"), "calculation_mode must be one of"),
    (("job.ini", "exposure_file = exposure.xml", "exposure_file = nothere.xml"), "exposure_file = 'nothere.xml': no such file"),
    (("gmf.csv", "sid,eid,", "site,eid,"), "needs eid .event_id. and sid"),
    (("job.ini", "sites = ", "sites = 112.1, "), "sites: expected 'lon lat' pairs, got '112.1'"),
    (("job.ini", "sites = ", "sites = 112.1 north, "), "sites: expected 'lon lat' pairs, got '112.1 north'"),
    (("gmf.csv", "\n0,0,", "\n0,0.5,"), "eid and sid must be integers"),
    (("gmf.csv", "\n0,0,", "\n0,0,x"), "column 'gmv_PGA' must hold numbers"),
    (("gmf.csv", "\n0,0,", "\n7000,0,"), r"site ids must be within \[0, 4\]"),
    (("fragility.xml", '<params ls="complete"', '<params ls="completed"'), "no <params> for limit state"),
    (("taxonomy_mapping.csv", "mixed,W,0.2", "mixed,W,0.3"), "weights of taxonomy 'mixed' do not sum to 1"),
    (("exposure.csv", "\na0,", "\na0,x"), r"asset 'a0', field 'lon': 'x1\d\d\.\d+' is not a number"),
    (("exposure.csv", "\na1,", "\na0,"), "asset ids must be unique"),
    (("exposure.csv", "\na1,", "\n,"), "every asset needs a non-empty 'id'"),
])
def test_malformed_jobs_name_file_and_field(tmp_path: Path, edit: tuple[str, str, str], message: str) -> None:
    from quakewatch.server.decision.nrml import InputFileError

    job = write_case(tmp_path / "c", CaseSpec(n_assets=40, n_sites=5, n_events=3, seed=8))
    name, old, new = edit
    path = job.parent / name
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(InputFileError, match=message):
        estimate_from_job(read_job(job))
