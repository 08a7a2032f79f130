"""Run an OpenQuake engine job and dump its per-asset and aggregate results as JSON.

Used by the tests and benchmarks as the independent oracle for
``quakewatch loss --oq-job``: ``python tests/openquake_oracle.py JOB.ini OUT.json [...]``.
Run it in a subprocess with ``HOME`` pointing at a scratch directory: the
engine keeps its job database and datastores under ``~/oqdata``.

Output keys: ``assets`` {asset id: {column: value}} where the columns are the
engine's ``damages-rlzs`` fields (``structural-no_damage``, ...,
``structural-fatalities``: numbers of buildings and consequences, mean over
events) or ``avg_losses-rlzs`` loss types (mean loss per asset); ``aggregate``
{column: value} from ``aggrisk`` (the portfolio totals); ``seconds`` the run time.
"""

from __future__ import annotations

import json
import os
import sys
import time


def run(job_ini: str, out: str) -> None:
    from openquake.calculators import base
    from openquake.commonlib import logs

    t0 = time.perf_counter()
    with logs.init(job_ini) as log:
        calc = base.calculators(log.get_oqparam(), log.calc_id)
        calc.run()
    seconds = time.perf_counter() - t0
    ds = calc.datastore
    ids = [i.decode() for i in ds["assetcol/array"]["id"]]
    assets: dict[str, dict[str, float]] = {i: {} for i in ids}
    if "damages-rlzs" in ds:
        arr = ds["damages-rlzs"][:, 0]
        for name in arr.dtype.names:
            for i, v in zip(ids, arr[name]):
                assets[i][name] = float(v)
    if "avg_losses-rlzs" in ds:
        for lt in ds["avg_losses-rlzs"]:
            values = ds[f"avg_losses-rlzs/{lt}"][:, 0]
            for i, v in zip(ids, values):
                assets[i][lt] = float(v)
    aggregate: dict[str, float] = {}
    if "aggrisk" in ds:
        df = ds.read_df("aggrisk")
        from openquake.risklib.scientific import LOSSTYPE

        total = df[df["agg_id"] == df["agg_id"].max()]  # agg_id K = the whole portfolio
        for _, row in total.iterrows():
            lt = LOSSTYPE[int(row["loss_id"])]
            for col in df.columns:
                if col not in ("agg_id", "rlz_id", "loss_id"):
                    aggregate[f"{lt}:{col}"] = float(row[col])
    with open(out, "w") as handle:
        json.dump({"assets": assets, "aggregate": aggregate, "seconds": seconds}, handle)


def main(args: list[str]) -> None:
    """``JOB OUT [JOB OUT ...]``: one engine start for several jobs."""
    os.environ.setdefault("OQ_DISTRIBUTE", "no")
    from openquake.commonlib import logs

    logs.dbcmd("upgrade_db")
    for job_ini, out in zip(args[::2], args[1::2]):
        try:
            run(job_ini, out)
        except Exception as exc:  # the engine refused the job: say so, go on
            with open(out, "w") as handle:
                json.dump({"error": f"{type(exc).__name__}: {exc}"}, handle)


if __name__ == "__main__":
    main(sys.argv[1:])
