"""The two input steps of an OpenQuake job, each with its peer run side by side.

* reading the exposure CSV: ``ext.csv_columns.scan_csv`` on the memory-mapped
  file against pandas' C parser (``pandas.read_csv``, the reader QuakeWatch used
  before; the numbers must come out bit for bit the same);
* finding each asset's site: ``ext.nearest_site`` against SciPy's ``cKDTree``
  on the unit vectors, all cores (the same indices must come out).

On the benchmark portfolio of ``benchmarks/loss.py`` (100,000 assets around
2,000 sites).  Usage::

    python benchmarks/loss_io.py [--assets 100000] [--repeats 15]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from _timing import best_of  # noqa: E402  # benchmarks/ is the script's directory
from _verdict import verdict  # noqa: E402
from loss_cases import CaseSpec, write_case  # noqa: E402

from quakewatch.ext.csv_columns import csv_header, mapped, scan_csv  # noqa: E402
from quakewatch.ext.geodesy import unit_vectors  # noqa: E402
from quakewatch.ext.nearest_site import nearest_site  # noqa: E402
from quakewatch.server.decision.openquake_job import read_job  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--assets", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=15)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="qw-loss-io-") as tmp:
        job = write_case(Path(tmp), CaseSpec(n_assets=a.assets, n_sites=max(50, a.assets // 50), n_events=10,
                                             seed=7, mode="scenario_risk", missing_fraction=0.0))
        csv = job.parent / "exposure.csv"
        numbers = {"lon", "lat", "number", "area", "structural", "contents", "night", "day", "transit", "residents"}

        def ours() -> Any:
            with mapped(csv) as data:
                header, start = csv_header(data)  # type: ignore[misc]
                return scan_csv(data, start, header, numbers, {"id", "taxonomy"})

        def theirs() -> pd.DataFrame:
            return pd.read_csv(csv, dtype={"id": str, "taxonomy": str}, keep_default_na=False, na_values=[""])

        t_ours, got = best_of(a.repeats, ours)
        t_pandas, df = best_of(a.repeats, theirs)
        same = all(np.array_equal(got.numbers[c], df[c].to_numpy(np.float64)) for c in numbers)
        print(f"exposure CSV, {a.assets:,d} rows ({csv.stat().st_size / 1e6:.1f} MB): scan_csv {t_ours * 1e3:6.1f} ms | "
              f"pandas.read_csv {t_pandas * 1e3:6.1f} ms | ratio {t_pandas / t_ours:5.1f}x | numbers identical: {same}")

        parsed = read_job(job)
        lon, lat = parsed.exposure.lon, parsed.exposure.lat
        s_lon, s_lat = parsed.site_lon, parsed.site_lat
        t_grid, (index, _) = best_of(a.repeats, lambda: nearest_site(s_lon, s_lat, lon, lat))

        def tree() -> Any:
            return cKDTree(unit_vectors(s_lon, s_lat)).query(unit_vectors(lon, lat), workers=-1)

        t_tree, (_, want) = best_of(a.repeats, tree)
        print(f"nearest site, {lon.size:,d} assets x {s_lon.size:,d} sites: nearest_site {t_grid * 1e3:6.1f} ms | "
              f"cKDTree {t_tree * 1e3:6.1f} ms | ratio {t_tree / t_grid:5.1f}x | "
              f"same sites: {np.array_equal(index, want)}")
        return verdict(same and bool(np.array_equal(index, want)), True, False)


if __name__ == "__main__":
    raise SystemExit(main())
