"""``quakewatch loss``: damage, casualties, economic loss and response level.

``--oq-job PATH/job.ini`` runs an OpenQuake scenario_damage / scenario_risk job
from its own files; ``--scenario FILE`` runs a QuakeWatch scenario (a rupture,
an exposure, fragility or vulnerability models; YAML or JSON, see the README).
Both run in this process (the computation needs no server); ``--json`` prints
the estimate document, ``--out DIR`` also writes ``estimate.json``,
``assets.csv``, ``assets.geojson`` and with ``--map`` ``loss_map.png``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .output import print_json


def add_parser(sub: Any) -> None:
    lo = sub.add_parser("loss", help="loss estimate: damage, casualties, economic loss, PAGER alert, response level")
    src = lo.add_mutually_exclusive_group(required=True)
    src.add_argument("--oq-job", metavar="JOB.ini", help="an OpenQuake scenario_damage or scenario_risk job with GMFs as CSV")
    src.add_argument("--scenario", metavar="FILE", help="a QuakeWatch scenario file (YAML or JSON)")
    lo.add_argument("--json", action="store_true", help="print the estimate as JSON (assets and totals)")
    lo.add_argument("--out", metavar="DIR", help="write estimate.json, assets.csv and assets.geojson here")
    lo.add_argument("--map", action="store_true", help="with --out: also write loss_map.png (needs matplotlib)")
    lo.add_argument("--threads", type=int, default=2, metavar="N", help="threads for the computation (default 2)")
    lo.add_argument("--dask", metavar="ADDRESS", help="with --oq-job: spread the portfolio over a Dask cluster "
                    "(scheduler address, or 'local' for a LocalCluster on this machine; needs the dask extra)")


def _print_human(doc: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    totals = doc["totals"]
    t = Table(title=f"{len(doc['assets'])} assets, {doc['n_events']} ground-motion field(s)")
    t.add_column("total")
    t.add_column("expected", justify="right")
    t.add_column("5 % - 95 %", justify="right")
    dist = totals.get("distribution", {})

    def spread(key: str) -> str:
        d = dist.get(key)
        return f"{d['p5']:,.4g} - {d['p95']:,.4g}" if d else ""

    for lt, states in totals["damage"].items():
        for state, value in states.items():
            t.add_row(f"{lt} buildings {state}", f"{value:,.1f}", spread(f"{lt}:{state}"))
    for group in ("losses", "casualties", "other"):
        for name, value in totals[group].items():
            key = next((k for k in (f"losses:{name}", f"{name}:structural", name) if k in dist), "")
            t.add_row(f"{group}: {name}", f"{value:,.1f}", spread(key))
    console.print(t)
    pager = doc.get("pager")
    if pager:
        alerts = ", ".join(f"{k} {v}" for k, v in pager["alerts"].items())
        console.print(f"[bold]PAGER alert[/bold]: {pager['alert'] or 'n/a'} ({alerts}); empirical model "
                      f"({pager['country']}): {pager['empirical_fatalities']:,.1f} deaths, {pager['empirical_alert']}")
    level = doc.get("response_level")
    if level:
        why = "; ".join(f"{r['criterion']} {r['value']:,.4g}: {r['threshold']}" for r in level["reasons"])
        console.print(f"[bold]Response level[/bold]: {level['level'] or 'none'} ({level['rule_table']}; {why}); "
                      f"initial judgement by magnitude: {level['initial_judgement'] or 'none'}")
    relief = doc.get("relief")
    if relief:
        items = ", ".join(f"{k} {v['quantity']:,.0f} {v['unit']}" for k, v in relief["items"].items())
        console.print(f"[bold]Relief[/bold] for {relief['displaced_people']:,.0f} displaced people, "
                      f"{relief['days']:g} days: {items}")


def _dask_client(address: str, workers: int) -> Any:
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise SystemExit("--dask needs the dask extra: pip install 'quakewatch[dask]'") from None
    if address == "local":
        return Client(LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=None))
    return Client(address)


def loss_command(a: argparse.Namespace) -> int:
    from quakewatch.server.decision.export import to_document, write_outputs
    from quakewatch.server.decision.nrml import InputFileError

    if a.dask and not a.oq_job:
        print("error: --dask applies to --oq-job (scenario realisations run in-process)", file=sys.stderr)
        return 2
    try:
        if a.oq_job:
            from quakewatch.server.decision.openquake_job import estimate_from_job, read_job

            job = read_job(a.oq_job)
            extra: dict[str, Any] = {}
            if a.dask:
                with _dask_client(a.dask, a.threads) as client:
                    est = estimate_from_job(job, client=client)
            else:
                est = estimate_from_job(job, threads=a.threads)
        else:
            from quakewatch.server.decision.scenario import run_scenario_file

            est, extra = run_scenario_file(a.scenario, threads=a.threads)
    except (InputFileError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if a.out:
        write_outputs(est, a.out, extra=extra, map_png=a.map)
    doc = to_document(est, extra)
    if a.json:
        print_json(doc)
    else:
        _print_human(doc)
    return 0
