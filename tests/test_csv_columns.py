"""ext.csv_columns: the plain-CSV scanner against Python's float() and pandas' reader."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quakewatch.ext.csv_columns import csv_header, factorize, lines_before, mapped, scan_csv, sorted_classes


def _scan(text: str | bytes, numbers: set[str], texts: set[str] = frozenset(), threads: int = 2):  # type: ignore[assignment]
    data = text.encode() if isinstance(text, str) else text
    found = csv_header(data)
    assert found is not None
    header, start = found
    return scan_csv(data, start, header, numbers, texts, threads=threads)


def _bits(values: np.ndarray) -> list[int]:
    return [struct.unpack("<q", struct.pack("<d", v))[0] for v in values]


def _tokens(rng: np.random.Generator) -> list[str]:
    """Decimal spellings of many magnitudes: fast-path and strtod-path numbers alike."""
    x = np.concatenate([rng.uniform(-1e3, 1e3, 300), 10.0 ** rng.uniform(-300, 300, 300),
                        rng.integers(-2**62, 2**62, 100).astype(float), [5e-324, 2.2250738585072014e-308,
                                                                        1.7976931348623157e308, 2.0**53, 2.0**53 + 2]])
    out = []
    for v in x:
        out += [repr(float(v)), f"{v:.17g}", f"{v:.3f}", f"{v:e}", f"{v:.25E}", f"{v:.12f}"]
    out += ["0", "-0", "+0.0", "007.5", "5.", ".5", "+.25", "-1e5", "1E-3", "1e+22", "1e23", "9007199254740993",
            "123456789012345678901234567890", "0.000000000000000000000000001234", "1234567890123456789.5",
            "0.30000000000000004441", "1e-400", "100000000000000000000000", "3.14159265358979323846264338327950288",
            "0" * 18 + "1" + "0" * 100_000 + "e-1000000", "1" + "0" * 400 + "e-700"]  # exponents past the clamp
    return out


def test_numbers_are_correctly_rounded_as_by_python_float() -> None:
    tokens = _tokens(np.random.default_rng(5))
    result = _scan("x\n" + "\n".join(tokens) + "\n", {"x"})
    assert result is not None and result.n_rows == len(tokens)
    want = np.array([float(t) for t in tokens])
    assert _bits(result.numbers["x"]) == _bits(want)  # bit for bit, signed zeros included


@pytest.mark.parametrize("threads", [1, 2, 3, 7])
def test_the_same_columns_as_pandas_for_any_number_of_chunks(tmp_path: Path, threads: int) -> None:
    rng = np.random.default_rng(threads)
    n = 997
    ids = [f"a{i}" for i in range(n)]
    taxo = rng.choice(["RC-low", "W", "MUR", "S"], n)
    lon, value = rng.uniform(-180, 180, n), 10.0 ** rng.uniform(-5, 9, n)
    lines = ["# a comment", "id,lon,taxonomy,value,note"]
    for i in range(n):
        lines.append(f"{ids[i]}, {float(lon[i])!r},{taxo[i]} ,{value[i]:.6e},free text {i}")
        if i % 97 == 0:
            lines.append("   ")  # blank rows are skipped, as by pandas
    raw = ("\ufeff" + "\r\n".join(lines)).encode()  # BOM and CRLF, no newline at the end
    path = tmp_path / "exposure.csv"
    path.write_bytes(raw)
    with mapped(path) as data:
        header, start = csv_header(data)  # type: ignore[misc]
        got = scan_csv(data, start, header, {"lon", "value"}, {"id", "taxonomy"}, threads=threads)
        skip = lines_before(data, start)
    assert header == ["id", "lon", "taxonomy", "value", "note"] and skip == 1
    oracle = pd.read_csv(path, skiprows=skip, encoding="utf-8-sig", dtype={"id": str, "taxonomy": str},
                         skipinitialspace=True)
    assert got is not None and got.n_rows == n and set(got.numbers) == {"lon", "value"}
    np.testing.assert_array_equal(got.numbers["lon"], oracle["lon"].to_numpy(float))
    np.testing.assert_array_equal(got.numbers["value"], oracle["value"].to_numpy(float))
    assert got.texts["id"].tolist() == oracle["id"].tolist()
    assert got.texts["taxonomy"].tolist() == oracle["taxonomy"].str.strip().tolist()  # spaces trimmed


def test_empty_fields_are_nan_and_non_ascii_text_is_decoded() -> None:
    got = _scan("id,v\n站点一,\n b ,  \nc,2.5\n", {"v"}, {"id"})
    assert got is not None
    assert got.texts["id"].tolist() == ["站点一", "b", "c"]
    assert np.isnan(got.numbers["v"][:2]).all() and got.numbers["v"][2] == 2.5


@pytest.mark.parametrize("text", [
    'id,v\na,"1.5"\n',  # quoted field
    "id,v\na,1.5,9\n",  # too many fields
    "id,v\na\n",  # too few
    "id,v\na,abc\n",  # text in a number column
    "id,v\na,nan\n",  # not a decimal number
    "id,v\na,inf\n",
    "id,v\na,1e\n",
    "id,v\na,1.2.3\n",
    "id,v\na,--1\n",
    "id,v\na,1 2\n",
])
def test_anything_but_plain_csv_goes_to_the_general_reader(text: str) -> None:
    assert _scan(text, {"v"}, {"id"}) is None


def test_invalid_utf8_text_goes_to_the_general_reader() -> None:
    assert _scan(b"id,v\n\xff\xfe,1\n", {"v"}, {"id"}) is None


def test_skipped_columns_are_not_parsed() -> None:
    got = _scan('id,v,note\na,1,"x, y"\n', {"v"}, {"id"})
    assert got is None  # a quote anywhere is not plain CSV, even in a skipped column
    got = _scan("id,v,note\na,1,anything at all\n", {"v"}, {"id"})
    assert got is not None and got.numbers["v"].tolist() == [1.0] and set(got.texts) == {"id"}


@pytest.mark.parametrize("threads", [1, 2, 5])
def test_header_only_and_empty_data(threads: int) -> None:
    got = _scan("id,v\n", {"v"}, {"id"}, threads)
    assert got is not None and got.n_rows == 0 and got.numbers["v"].shape == (0,)
    assert csv_header(b"") is None and csv_header(b"# only a comment\n\n") is None


def test_factorize_and_sorted_classes_agree_with_numpy_unique() -> None:
    rng = np.random.default_rng(3)
    values = rng.choice(np.array(["RC", "W", "MUR", "S-high", "", "站"]), 5000)
    codes, first = factorize(values)
    np.testing.assert_array_equal(values[first][codes], values)
    assert np.all(np.diff(first) > 0)  # first-occurrence order
    levels, inverse = sorted_classes(values)
    want_levels, want_inverse = np.unique(values, return_inverse=True)
    np.testing.assert_array_equal(levels, want_levels)
    np.testing.assert_array_equal(inverse, want_inverse)
    ids = np.array([f"asset-{i}" for i in range(50000)] + ["asset-7"])
    codes, first = factorize(ids)
    assert first.size == 50000 and codes[-1] == 7


def test_a_gzipped_file_is_read_decompressed(tmp_path: Path) -> None:
    import gzip

    path = tmp_path / "gmf.csv.gz"
    path.write_bytes(gzip.compress(b"sid,eid,gmv_PGA\n0,0,0.25\n1,0,0.5\n"))
    with mapped(path) as data:
        header, start = csv_header(data)  # type: ignore[misc]
        got = scan_csv(data, start, header, {"sid", "eid", "gmv_PGA"}, set())
    assert got is not None and got.numbers["gmv_PGA"].tolist() == [0.25, 0.5]
