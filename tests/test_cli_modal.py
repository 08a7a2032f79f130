"""``quakewatch modal`` end to end: real files written by independent writers (ObsPy for
miniSEED and SAC, NumPy for .npy and .csv). The main scenarios and an error case run
the CLI as a separate process (exit status, no traceback, strict JSON on stdout); the
other scenarios call ``cli.main`` in this process, which is faster and just as strict
(an uncaught exception fails the test).

The truth for the frequencies and mode shapes is the modal model that generated the
record (``ext/synthetic.py``), never an output of the identification. The accuracy of
``identify`` itself is tested in ``test_modal.py``; here the point is that the CLI
reads, orders, windows and reports the data correctly, and fails cleanly.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from quakewatch.ext.synthetic import AmbientVibration, ModalModel, structure_model

QW_MODAL = [sys.executable, "-m", "quakewatch.clients.cli", "modal"]
FS = 100.0
N_CH = 16
START = "2024-05-01T12:00:00"
KEYS = {"frequencies_hz", "std_frequencies_hz", "damping_ratios", "std_damping_ratios", "mode_shapes", "channels", "harmonics_hz",
        "dead_channels", "mpc", "n_poles", "provenance", "fs_hz", "n_samples", "start_time", "gaps"}


def seed_id(c: int) -> str:
    """Channel c of the model; the location code makes the SEED-id order the model order."""
    return f"XX.BLD.{c:02d}.HN{'XY'[c % 2]}"


def qw(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*QW_MODAL, *map(str, args)], capture_output=True, text=True, timeout=120, env=env)


def strict_json(text: str) -> dict[str, Any]:
    """NaN and Infinity are not JSON: they must have become null."""
    return json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c} in the output"))


def qw_json(*args: str | Path) -> dict[str, Any]:
    r = qw(*args, "--json")
    assert r.returncode == 0, r.stderr
    return strict_json(r.stdout)


def cli(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    """``quakewatch modal ARGS`` in this process: (exit status, stdout, stderr)."""
    from quakewatch.clients.cli import main

    try:
        code = main(["modal", *map(str, args)])
    except SystemExit as exc:  # argparse, run_structure
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def cli_json(capsys: pytest.CaptureFixture[str], *args: str | Path) -> dict[str, Any]:
    code, out, err = cli(capsys, *args, "--json")
    assert code == 0, err
    return strict_json(out)


def traces(x: np.ndarray, t0: str = START, ids: list[str] | None = None, rate: float = FS) -> Any:
    """ObsPy traces of the rows of x (n_channels, n_samples), written in a shuffled order."""
    import obspy

    ids = ids or [seed_id(c) for c in range(x.shape[0])]
    st = obspy.Stream()
    for c in np.random.default_rng(11).permutation(x.shape[0]):
        net, sta, loc, cha = ids[c].split(".")
        st += obspy.Trace(np.ascontiguousarray(x[c]), header={"network": net, "station": sta, "location": loc, "channel": cha,
                                                             "sampling_rate": rate, "starttime": obspy.UTCDateTime(t0)})
    return st


@pytest.fixture(scope="module")
def model() -> ModalModel:
    return structure_model("building", N_CH, seed=1, fs_hz=FS)[0]


@pytest.fixture(scope="module")
def record(model: ModalModel) -> np.ndarray:
    """10 min of ambient vibration, float32 (what the miniSEED files hold), (n_channels, n_samples)."""
    return AmbientVibration(model, FS, seed=0, noise_rms_mps2=2e-4).next_block(int(600 * FS)).astype(np.float32)


@pytest.fixture(scope="module")
def mseed_file(record: np.ndarray, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("mseed") / "building.mseed"
    traces(record).write(str(path), format="MSEED", encoding="FLOAT32", reclen=4096)
    return path


@pytest.fixture(scope="module")
def mseed_result(mseed_file: Path) -> dict[str, Any]:
    return qw_json(mseed_file)


def short(seconds: float, n_ch: int = 3, seed: int = 2) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n_ch, int(seconds * FS))).astype(np.float32)


@pytest.mark.reference
def test_miniseed_modes_match_the_model(mseed_result: dict[str, Any], model: ModalModel) -> None:
    out = mseed_result
    assert set(out) == KEYS
    f = np.array(out["frequencies_hz"])
    assert f.size == model.n_modes, f"expected {model.n_modes} modes, got {f}"
    # each true mode found within 1 %
    for f_true in model.frequencies_hz:
        assert np.min(np.abs(f - f_true)) / f_true < 0.01, (f_true, f)
    # the errors are consistent with the reported standard deviations
    std = np.array(out["std_frequencies_hz"])
    assert np.all(std > 0) and np.all(np.abs(f - model.frequencies_hz) < 4 * std)
    assert out["channels"] == [seed_id(c) for c in range(N_CH)]
    # channel order: the shapes line up with the model's channels (MAC of real shapes)
    phi = np.array(out["mode_shapes"])  # (n_modes, n_channels)
    assert phi.shape == (model.n_modes, N_CH)
    true = model.mode_shapes.T
    mac = (phi * true).sum(1) ** 2 / ((phi**2).sum(1) * (true**2).sum(1))
    assert mac.min() > 0.98, mac
    assert out["fs_hz"] == FS and out["n_samples"] == 60_000
    assert out["start_time"] == START + ".000000Z" and out["gaps"] == []
    assert out["dead_channels"] == [] and out["harmonics_hz"] == []
    assert len(out["mpc"]) == len(out["n_poles"]) == model.n_modes
    assert out["provenance"]["method"] == "ssi-cov" and out["provenance"]["input"]["format"] == "miniseed"


def test_directory_of_files_split_in_time_gives_the_same_record(capsys: Any, tmp_path: Path, record: np.ndarray, mseed_result: dict[str, Any]) -> None:
    """Two files per channel (first and second five minutes) in a directory tree."""
    import obspy

    half = record.shape[1] // 2
    for part, (x, t0) in enumerate([(record[:, :half], START), (record[:, half:], str(obspy.UTCDateTime(START) + half / FS))]):
        for tr in traces(x, t0):
            d = tmp_path / f"part{part}"
            d.mkdir(exist_ok=True)
            tr.write(str(d / f"{tr.id}.mseed"), format="MSEED", encoding="FLOAT32")
    out = cli_json(capsys, tmp_path)
    assert out["n_samples"] == record.shape[1] and out["channels"] == mseed_result["channels"]
    np.testing.assert_allclose(out["frequencies_hz"], mseed_result["frequencies_hz"], rtol=1e-9)


def test_sac_files_give_the_same_result(capsys: Any, tmp_path: Path, record: np.ndarray, mseed_result: dict[str, Any]) -> None:
    for tr in traces(record):
        tr.write(str(tmp_path / f"{tr.id}.sac"), format="SAC")
    out = cli_json(capsys, tmp_path / "*.sac")  # a glob, as a quoted shell argument would arrive
    assert out["channels"] == mseed_result["channels"] and out["start_time"] == mseed_result["start_time"]
    np.testing.assert_allclose(out["frequencies_hz"], mseed_result["frequencies_hz"], rtol=1e-9)
    assert out["provenance"]["input"]["format"] == "sac"


# Gaps written into the miniSEED files (seconds from the start, traces missing there):
# one channel's telemetry drops for 30 s, the whole station for 5 s, one channel for half a second
GAPS = [(120.0, 150.0, [3]), (400.0, 405.0, list(range(N_CH))), (500.0, 500.5, [9])]


@pytest.mark.reference
def test_gaps_are_left_out_and_listed_and_the_modes_still_match(tmp_path: Path, record: np.ndarray, model: ModalModel) -> None:
    """Real archives have gaps: every stretch of the window in which a channel has no
    sample is listed with its channels, left out of the analysis (no lag spans it), and
    the modes still match the model. The gaps are those ObsPy was told to write."""
    import obspy

    st = obspy.Stream()
    for tr in traces(record):
        c = int(tr.stats.location)
        cuts = [(a, b) for a, b, chans in GAPS if c in chans]
        edges = [0.0] + [t for ab in cuts for t in ab] + [record.shape[1] / FS]
        for a, b in zip(edges[::2], edges[1::2]):  # the stretches this trace keeps
            st += tr.slice(obspy.UTCDateTime(START) + a, obspy.UTCDateTime(START) + b - 0.5 / FS, nearest_sample=False)  # [a, b)
    st.write(str(tmp_path / "gappy.mseed"), format="MSEED", encoding="FLOAT32")
    out = qw_json(tmp_path / "gappy.mseed")
    t0 = obspy.UTCDateTime(START)
    want = [{"start": str(t0 + a), "end": str(t0 + b), "seconds": b - a,
             "channels": [seed_id(c) for c in chans]} for a, b, chans in GAPS]
    assert out["gaps"] == want
    assert out["n_samples"] == record.shape[1] - sum(round((b - a) * FS) for a, b, _ in GAPS)
    assert out["provenance"]["gaps"] == len(GAPS)
    f = np.array(out["frequencies_hz"])
    assert f.size == model.n_modes, f
    np.testing.assert_allclose(f, model.frequencies_hz, rtol=0.01)
    std = np.array(out["std_frequencies_hz"])
    assert np.all(np.abs(f - model.frequencies_hz) < 4.5 * std)


def test_nan_rows_of_an_array_are_gaps(capsys: Any, tmp_path: Path, record: np.ndarray) -> None:
    """NaN marks a missing sample in a .npy file: the result is identify() on the same
    array (which leaves out rows with a NaN), the gaps are listed by sample index."""
    from quakewatch.ext.modal import identify

    x = np.ascontiguousarray(record[:, :24_000].T, dtype=np.float64)
    x[5_000:5_100, 2] = np.nan
    x[15_000:15_020] = np.nan
    np.save(tmp_path / "rec.npy", x)
    out = cli_json(capsys, tmp_path / "rec.npy", "--fs", "100", "--max-order", "40")
    assert out["gaps"] == [{"start": 5_000, "end": 5_100, "seconds": 1.0, "channels": ["ch02"]},
                           {"start": 15_000, "end": 15_020, "seconds": 0.2, "channels": [f"ch{c:02d}" for c in range(N_CH)]}]
    assert out["n_samples"] == 24_000 - 120
    want = identify(x, FS, max_order=40)
    assert want.n_modes >= 5
    np.testing.assert_allclose(out["frequencies_hz"], want.frequencies_hz, rtol=1e-12)


@pytest.mark.reference
def test_npy_modes_match_the_model(tmp_path: Path, record: np.ndarray, model: ModalModel) -> None:
    path = tmp_path / "rec.npy"
    np.save(path, record.T.astype(np.float64))
    out = qw_json(path, "--fs", "100", "--no-uncertainty")
    f = np.array(out["frequencies_hz"])
    assert f.size == model.n_modes
    np.testing.assert_allclose(f, model.frequencies_hz, rtol=0.01)
    assert out["std_frequencies_hz"] == [None] * model.n_modes  # --no-uncertainty: null, not NaN
    assert out["channels"] == [f"ch{c:02d}" for c in range(N_CH)] and out["start_time"] is None


@pytest.mark.reference
@pytest.mark.parametrize(("flag", "value"), [("weighting", "cva"), ("svd", "exact")])
def test_ssi_options_from_the_command_line(tmp_path: Path, record: np.ndarray, model: ModalModel, flag: str,
                                           value: str) -> None:
    path = tmp_path / "rec.npy"
    np.save(path, record.T.astype(np.float64))
    out = qw_json(path, "--fs", "100", "--no-uncertainty", f"--{flag}", value)
    assert out["provenance"][flag] == value
    np.testing.assert_allclose(np.array(out["frequencies_hz"]), model.frequencies_hz, rtol=0.01)


def test_csv_with_header_is_read_exactly(capsys: Any, tmp_path: Path, record: np.ndarray) -> None:
    """The CLI's answer equals identify() on the same array: the csv reached it intact."""
    from quakewatch.ext.modal import identify

    x = np.ascontiguousarray(record[:, :12_000].T, dtype=np.float64)  # 2 min
    path = tmp_path / "rec.csv"
    names = [f"s{c}" for c in range(N_CH)]
    np.savetxt(path, x, delimiter=",", fmt="%.17g", header=",".join(names), comments="")
    out = cli_json(capsys, path, "--fs", "100", "--ref-channels", "s0,s1,4,5", "--max-order", "60")
    want = identify(x, FS, ref_channels=[0, 1, 4, 5], max_order=60)
    assert out["channels"] == names and out["n_samples"] == 12_000
    assert want.n_modes >= 3
    np.testing.assert_allclose(out["frequencies_hz"], want.frequencies_hz, rtol=1e-9)
    assert out["provenance"]["ref_channels"] == [0, 1, 4, 5]
    assert out["provenance"]["orders"][1] == 60


def test_window_iso_start_and_seconds_end(capsys: Any, mseed_file: Path) -> None:
    out = cli_json(capsys, mseed_file, "--start", "2024-05-01T12:01:00Z", "--end", "420", "--freq-range", "1,5")
    assert out["start_time"] == "2024-05-01T12:01:00.000000Z"
    assert out["n_samples"] == 36_000  # 60 s .. 420 s from the start
    assert all(1 <= f <= 5 for f in out["frequencies_hz"]) and len(out["frequencies_hz"]) >= 3


def test_human_table(capsys: Any, tmp_path: Path, record: np.ndarray) -> None:
    path = tmp_path / "rec.npy"
    x = record[:, :12_000].T.copy()
    x[:, 3] = 0.0  # a dead channel
    np.save(path, x)
    code, out, err = cli(capsys, path, "--fs", "100")
    assert code == 0, err
    for text in ("f [Hz]", "damping [%]", "MPC", "poles", "harmonics", "dead channels (left out): 3: ch03", "ch15"):
        assert text in out, out


def test_noise_poles_of_a_single_channel_are_listed_not_reported(capsys: Any, tmp_path: Path) -> None:
    path = tmp_path / "noise.npy"
    np.save(path, np.random.default_rng(0).standard_normal((12_000, 1)))  # 10 min of white noise at 20 Hz
    code, out, err = cli(capsys, path, "--fs", "20")
    assert code == 0, err
    assert "0 modes: 1 channels" in out and "stable poles within the sampling noise (not modes):" in out, out
    doc = cli_json(capsys, path, "--fs", "20")
    assert doc["frequencies_hz"] == [] and len(doc["provenance"]["rejected_insignificant"]) >= 1


def test_plot_writes_a_png(capsys: Any, tmp_path: Path, record: np.ndarray) -> None:
    pytest.importorskip("matplotlib")
    path, png = tmp_path / "rec.npy", tmp_path / "diagram.png"
    np.save(path, record[:, :12_000].T)
    code, out, err = cli(capsys, path, "--fs", "100", "--plot", png, "--no-uncertainty")
    assert code == 0, err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000


def test_plot_without_matplotlib_is_a_usage_error(tmp_path: Path) -> None:
    fake = tmp_path / "site" / "matplotlib"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('No module named matplotlib')\n")
    np.save(tmp_path / "rec.npy", short(60).T)
    import os

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "site"), os.environ.get("PYTHONPATH", "")])}
    r = qw(tmp_path / "rec.npy", "--fs", "100", "--plot", tmp_path / "p.png", env=env)
    assert r.returncode == 2 and "--plot: needs matplotlib" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "p.png").exists()


def _write_mixed_rates(d: Path) -> list[Path]:
    traces(short(60, 2), ids=["XX.BLD.00.HNX", "XX.BLD.01.HNY"]).write(str(d / "a.mseed"), format="MSEED")
    x = short(60, 1)[:, ::2]
    traces(x, ids=["XX.BLD.02.HNZ"], rate=50.0).write(str(d / "b.mseed"), format="MSEED")
    return [d / "a.mseed", d / "b.mseed"]


def _write_inf(d: Path) -> list[Path]:
    x = short(60).T.astype(np.float64)
    x[1234, 2] = np.inf
    np.save(d / "inf.npy", x)
    return [d / "inf.npy", "--fs", "100"]  # type: ignore[list-item]


def _write_twice_named(d: Path) -> list[Path]:
    path = d / "twice.csv"
    np.savetxt(path, short(60, 3).T, delimiter=",", header="a,b,a", comments="")
    return [path, "--fs", "100"]  # type: ignore[list-item]


def _write_overlap(d: Path) -> list[Path]:
    import obspy

    st = traces(short(60, 2), ids=["XX.BLD.00.HNX", "XX.BLD.01.HNY"])
    again = traces(short(10, 1), t0=str(obspy.UTCDateTime(START) + 30), ids=["XX.BLD.01.HNY"])
    (st + again).write(str(d / "twice.mseed"), format="MSEED")
    return [d / "twice.mseed"]


def _write_npy(d: Path) -> list[Path]:
    np.save(d / "rec.npy", short(60).T)
    return [d / "rec.npy"]


def _write_text(d: Path) -> list[Path]:
    (d / "notes.mseed").write_text("not a miniSEED file\n" * 50)
    return [d / "notes.mseed"]


def _write_bad_ref(d: Path) -> list[Path]:
    traces(short(60)).write(str(d / "a.mseed"), format="MSEED")
    return [d / "a.mseed", "--ref-channels", "0,HNQ"]  # type: ignore[list-item]


def _write_bad_window(d: Path) -> list[Path]:
    traces(short(60)).write(str(d / "a.mseed"), format="MSEED")
    return [d / "a.mseed", "--start", "2024-05-01T11:00:00"]  # type: ignore[list-item]


def _write_cva_subset(d: Path) -> list[Path]:
    traces(short(60)).write(str(d / "a.mseed"), format="MSEED")
    return [d / "a.mseed", "--ref-channels", "0", "--weighting", "cva"]  # type: ignore[list-item]


def _write_too_short(d: Path) -> list[Path]:
    np.save(d / "short.npy", short(0.5, 16).T)  # 50 samples of 16 channels
    return [d / "short.npy", "--fs", "100"]  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("make", "code", "messages"),
    [
        pytest.param(_write_mixed_rates, 1, ["mixed sampling rates", "50 Hz: XX.BLD.02.HNZ (b.mseed)", "100 Hz"], id="mixed-rates"),
        pytest.param(_write_inf, 1, ["ch02: infinite sample at sample 1234"], id="infinite-sample"),
        pytest.param(_write_twice_named, 1, ["twice.csv: the header names a column twice (a)"], id="column-named-twice"),
        pytest.param(_write_overlap, 1, ["XX.BLD.01.HNY: overlapping data at 2024-05-01T12:00:30", "twice.mseed"], id="overlap"),
        pytest.param(_write_npy, 2, ["--fs: required for .npy input"], id="npy-without-fs"),
        pytest.param(_write_text, 1, ["notes.mseed: not readable as miniSEED"], id="not-miniseed"),
        pytest.param(_write_too_short, 1, ["short.npy (50 samples, 0.5 s at 100 Hz in the window)", "at least", "block_rows"], id="too-short"),
        pytest.param(_write_bad_ref, 2, ["--ref-channels: 'HNQ' is neither a channel index (0..2) nor a channel id"], id="bad-ref-channel"),
        pytest.param(_write_cva_subset, 1, ["a.mseed", "weighting='cva' needs every live channel as a reference"], id="cva-subset"),
        pytest.param(_write_bad_window, 2, ["--start: 2024-05-01T11:00:00.000000Z is outside the span common to all traces"], id="window-outside"),
    ],
)
def test_input_errors(capsys: Any, tmp_path: Path, make: Any, code: int, messages: list[str]) -> None:
    got, out, err = cli(capsys, *make(tmp_path), "--json")
    assert got == code, (got, err)
    for m in messages:
        assert m in err, err
    assert out == ""


def test_error_in_a_real_process_exit_status_and_no_traceback(tmp_path: Path) -> None:
    r = qw(*_write_overlap(tmp_path), "--json")
    assert r.returncode == 1 and "XX.BLD.01.HNY: overlapping data" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""


def test_structure_id_needs_a_token_and_excludes_files(capsys: Any, mseed_file: Path, monkeypatch: Any) -> None:
    monkeypatch.delenv("QUAKEWATCH_TOKEN", raising=False)
    code, _, err = cli(capsys, "--structure-id", "bld-1", "--token", "")
    assert code == 1
    code, _, err = cli(capsys, mseed_file, "--structure-id", "bld-1")
    assert code == 2 and "not allowed with" in err


# ---------------------------------------------------------------------------- channels


def _temperature(seconds: float, ids: list[str]) -> Any:
    """1 Hz temperature traces (SEED instrument code K) over the same span."""
    x = 20.0 + np.cumsum(np.random.default_rng(3).standard_normal((len(ids), int(seconds))) * 0.01, axis=1)
    return traces(x.astype(np.float32), ids=ids, rate=1.0)


def test_covariate_traces_are_left_out_by_default(capsys: Any, tmp_path: Path, record: np.ndarray, model: ModalModel) -> None:
    """A structure's archive holds its temperature channels beside the accelerometers, at
    another rate: they are left out (and said so), not a mixed-rate error."""
    x = record[:, :18_000]  # 3 min
    traces(x).write(str(tmp_path / "motion.mseed"), format="MSEED", encoding="FLOAT32")
    _temperature(180, ["XX.BLD.00.LKO", "XX.BLD.10.LKO"]).write(str(tmp_path / "temp.mseed"), format="MSEED", encoding="FLOAT32")
    out = cli_json(capsys, tmp_path)
    assert out["channels"] == [seed_id(c) for c in range(N_CH)]
    left = out["provenance"]["input"]["left_out"]
    assert set(left) == {"XX.BLD.00.LKO", "XX.BLD.10.LKO"} and all("temperature" in why for why in left.values())
    f = np.array(out["frequencies_hz"])
    assert f.size >= model.n_modes - 2
    assert all(np.min(np.abs(model.frequencies_hz - fi)) / fi < 0.01 for fi in f)
    code, text, err = cli(capsys, tmp_path, "--no-uncertainty")
    assert code == 0 and "not analysed: XX.BLD.10.LKO: not a motion sensor (temperature)" in text, (text, err)
    # chosen explicitly, they are analysed, and the rates then disagree
    code, _, err = cli(capsys, tmp_path, "--channels", "*.LKO,*.HNX", "--json")
    assert code == 1 and "mixed sampling rates" in err


def test_channels_option_chooses_by_id_or_pattern(capsys: Any, tmp_path: Path, record: np.ndarray) -> None:
    """The CLI's answer on the chosen traces equals identify() on those rows of the record."""
    from quakewatch.ext.modal import identify

    x = record[:, :12_000]
    traces(x).write(str(tmp_path / "a.mseed"), format="MSEED", encoding="FLOAT32")
    out = cli_json(capsys, tmp_path / "a.mseed", "--channels", "XX.BLD.0?.*,XX.BLD.15.HNY", "--max-order", "60")
    rows = list(range(10)) + [15]
    assert out["channels"] == [seed_id(c) for c in rows]
    want = identify(np.ascontiguousarray(x[rows].T, dtype=np.float64), FS, max_order=60)
    assert want.n_modes >= 3
    np.testing.assert_allclose(out["frequencies_hz"], want.frequencies_hz, rtol=1e-9)
    assert len(out["provenance"]["input"]["left_out"]) == 5


def test_channels_option_on_csv_columns(capsys: Any, tmp_path: Path, record: np.ndarray) -> None:
    from quakewatch.ext.modal import identify

    x = np.ascontiguousarray(record[:, :12_000].T, dtype=np.float64)
    path = tmp_path / "rec.csv"
    names = [f"s{c}" for c in range(N_CH)]
    np.savetxt(path, x, delimiter=",", fmt="%.17g", header=",".join(names), comments="")
    out = cli_json(capsys, path, "--fs", "100", "--channels", "s1,s3,s5,s7,s9,s11", "--max-order", "40")
    assert out["channels"] == ["s1", "s3", "s5", "s7", "s9", "s11"]
    want = identify(x[:, [1, 3, 5, 7, 9, 11]], FS, max_order=40)
    np.testing.assert_allclose(out["frequencies_hz"], want.frequencies_hz, rtol=1e-9)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--channels", "XX.BLD.*.HNZ"], 2, "--channels: 'XX.BLD.*.HNZ' matches none of the channels (XX.BLD.00.HNX, XX.BLD.00.LKO, XX.BLD.01.HNY)"),
        (["--channels", " , "], 2, "--channels: give at least one channel id or pattern"),
    ],
)
def test_channels_option_errors(capsys: Any, tmp_path: Path, args: list[str], code: int, message: str) -> None:
    traces(short(60, 2), ids=["XX.BLD.00.HNX", "XX.BLD.01.HNY"]).write(str(tmp_path / "a.mseed"), format="MSEED")
    _temperature(60, ["XX.BLD.00.LKO"]).write(str(tmp_path / "t.mseed"), format="MSEED")
    got, out, err = cli(capsys, tmp_path, *args, "--json")
    assert got == code and message in err, err


def test_only_covariates_is_a_clear_error(capsys: Any, tmp_path: Path) -> None:
    _temperature(600, ["XX.BLD.00.LKO", "XX.BLD.01.LKI"]).write(str(tmp_path / "t.mseed"), format="MSEED")
    got, out, err = cli(capsys, tmp_path, "--json")
    assert got == 1 and "no motion channel among the 2 traces" in err and "--channels" in err, err


# ---------------------------------------------------------------------------- conditioning


@pytest.mark.reference
def test_highpass_removes_a_drift_that_costs_modes(capsys: Any, tmp_path: Path, record: np.ndarray, model: ModalModel) -> None:
    """A thermal drift 10 times the vibration (random walk and trend) costs modes; a
    zero-phase high-pass at 0.3 Hz, a fifth of the slowest mode, brings every one back."""
    y = record.T.astype(np.float64)
    rng = np.random.default_rng(5)
    n = y.shape[0]
    walk = np.cumsum(rng.standard_normal((n, N_CH)), axis=0)
    drifting = y + 10 * y.std(axis=0) * (0.5 * walk / walk.std(axis=0) + np.arange(n)[:, None] / n * rng.standard_normal(N_CH))
    np.save(tmp_path / "drift.npy", drifting)

    def found(doc: dict[str, Any]) -> int:
        f = np.array(doc["frequencies_hz"])
        return sum(bool(f.size) and np.min(np.abs(f - t)) / t < 0.01 for t in model.frequencies_hz)

    raw = cli_json(capsys, tmp_path / "drift.npy", "--fs", "100")
    out = cli_json(capsys, tmp_path / "drift.npy", "--fs", "100", "--highpass", "0.3")
    assert found(raw) <= model.n_modes - 2
    assert found(out) == len(out["frequencies_hz"]) == model.n_modes, out["frequencies_hz"]
    assert out["provenance"]["input"]["conditioning"]["highpass_hz"] == 0.3


@pytest.mark.reference
def test_decimate_keeps_the_modes_and_the_clock(capsys: Any, tmp_path: Path) -> None:
    """A record at 100 Hz whose modes are below 20 Hz, with a gap, decimated by 2: 50 Hz,
    half the samples, the modes of the model, the gap where ObsPy was told to leave it."""
    import obspy

    slow = structure_model("building", 8, seed=3, fs_hz=50.0)[0]  # modes below 0.4 x 50 Hz
    x = AmbientVibration(slow, FS, seed=4, noise_rms_mps2=2e-4).next_block(int(600 * FS)).astype(np.float32)
    st = obspy.Stream()
    for tr in traces(x):
        st += tr.slice(obspy.UTCDateTime(START), obspy.UTCDateTime(START) + 300 - 0.5 / FS, nearest_sample=False)
        st += tr.slice(obspy.UTCDateTime(START) + 302, nearest_sample=False)
    st.write(str(tmp_path / "fast.mseed"), format="MSEED", encoding="FLOAT32")
    out = cli_json(capsys, tmp_path / "fast.mseed", "--decimate", "2")
    assert out["fs_hz"] == 50.0 and out["provenance"]["input"]["conditioning"]["decimate"] == 2
    assert out["n_samples"] == (60_000 - 200) // 2
    assert [(g["start"], g["end"]) for g in out["gaps"]] == [(str(obspy.UTCDateTime(START) + 300), str(obspy.UTCDateTime(START) + 302))]
    f = np.array(out["frequencies_hz"])
    assert f.size == slow.n_modes, f
    np.testing.assert_allclose(f, slow.frequencies_hz, rtol=0.01)


@pytest.mark.parametrize(("args", "message"), [
    (["--decimate", "1"], "--decimate: a factor from 2 to 1000, got 1"),
    (["--highpass", "60"], "--highpass: a corner above 0 and below half the sample rate (50 Hz), got 60"),
    (["--highpass", "30", "--decimate", "2"], "below half the decimated sample rate (25 Hz), got 30"),
])
def test_conditioning_options_are_checked(capsys: Any, tmp_path: Path, args: list[str], message: str) -> None:
    np.save(tmp_path / "rec.npy", short(60).T)
    code, out, err = cli(capsys, tmp_path / "rec.npy", "--fs", "100", *args)
    assert code == 2 and message in err, err
