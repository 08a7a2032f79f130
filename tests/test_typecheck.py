"""mypy over the service, the kernels' front-ends, the clients and the generated
stubs (STYLE: type-checked code). Configuration in pyproject.toml."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_is_clean() -> None:
    api = pytest.importorskip("mypy.api")
    # its own cache: partial manual runs (mypy server/ ...) can leave the default one stale
    cache = ROOT / ".mypy_cache" / "test-suite"
    args = ["--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(cache)]
    out, err, status = api.run([*args, *(str(ROOT / d) for d in ("server", "ext", "clients", "proto/quakewatch"))])
    assert status == 0, out + err
