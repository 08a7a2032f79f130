"""Exposure CSVs: the plain-CSV scanner and pandas' reader give the same exposure.

Every CSV exposure model in the OpenQuake engine's own test data (62 files from
real portfolios: Albania, Chile, France, Singapore, Canada...) is read both
ways; where a model is refused, both ways refuse it with the same message.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from quakewatch.server.decision import nrml


def _csv_exposures() -> list[Path]:
    try:
        import openquake.qa_tests_data as qa
    except ImportError:  # the engine is a test dependency; say so rather than pass
        pytest.fail("openquake.engine is a test dependency (pip install --no-deps openquake.engine==3.26.2)")
    root = Path(qa.__file__).parent
    found = []
    for path in sorted(root.rglob("*.xml")):
        text = path.read_text(errors="ignore")
        if "exposureModel" in text[:3000] and re.search(r"<assets>\s*[^<\s]+\.csv", text):
            found.append(path)
    return found


def _read(path: Path, monkeypatch: pytest.MonkeyPatch, general: bool) -> nrml.Exposure | str:
    with monkeypatch.context() as m:
        if general:
            m.setattr(nrml, "scan_csv", lambda *args, **kwargs: None)
        try:
            return nrml.read_exposure(path)
        except nrml.InputFileError as exc:
            return str(exc)


def _same(a: nrml.Exposure, b: nrml.Exposure) -> None:
    for name in ("ids", "lon", "lat", "taxonomy", "number", "area"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    for x, y in zip(a.taxonomy_classes, b.taxonomy_classes):  # the scanner's are from its hash codes
        np.testing.assert_array_equal(x, y, err_msg="taxonomy_classes")
    for name in ("values", "occupants", "tags"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.keys() == y.keys(), name
        for key in x:
            np.testing.assert_array_equal(x[key], y[key], err_msg=f"{name}[{key}]")
    assert (a.residents is None) == (b.residents is None)
    if a.residents is not None:
        np.testing.assert_array_equal(a.residents, b.residents)


def test_every_engine_csv_exposure_reads_the_same_both_ways(monkeypatch: pytest.MonkeyPatch) -> None:
    paths = _csv_exposures()
    assert len(paths) >= 50
    read = 0
    for path in paths:
        fast, general = _read(path, monkeypatch, False), _read(path, monkeypatch, True)
        if isinstance(general, str) or isinstance(fast, str):
            assert fast == general, path
            continue
        _same(fast, general)
        read += 1
    assert read >= 40  # most are read; the rest are refused alike (e.g. no taxonomy field)


def test_a_quoted_file_is_read_by_pandas_with_the_same_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "e.xml").write_text(
        '<?xml version="1.0"?><nrml xmlns="http://openquake.org/xmlns/nrml/0.5"><exposureModel id="e" '
        'category="buildings"><description>d</description><conversions><costTypes>'
        '<costType name="structural" type="aggregated" unit="CNY"/></costTypes></conversions>'
        "<tagNames>district</tagNames><assets>e.csv</assets></exposureModel></nrml>")
    (tmp_path / "e.csv").write_text('id,lon,lat,taxonomy,number,structural,district\n'
                                    'a1,112.5,37.5,W, 3 ,1000,"Xiaodian, Taiyuan"\n'
                                    'a2,112.6,37.6,RC,,2000.5,Yingze\n')
    quoted = nrml.read_exposure(tmp_path / "e.xml")  # a quote: the general reader
    assert quoted.tags["district"].tolist() == ["Xiaodian, Taiyuan", "Yingze"]
    assert quoted.number.tolist() == [3.0, 1.0] and quoted.values["structural"].tolist() == [1000.0, 2000.5]
    (tmp_path / "e.csv").write_text((tmp_path / "e.csv").read_text().replace('"Xiaodian, Taiyuan"', "Xiaodian"))
    plain = nrml.read_exposure(tmp_path / "e.xml")
    _same(plain, _read(tmp_path / "e.xml", monkeypatch, True))  # type: ignore[arg-type]
