"""The committed stubs are what proto/generate.py makes from the .proto files."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_generated_stubs_are_up_to_date() -> None:
    pytest.importorskip("grpc_tools")
    spec = importlib.util.spec_from_file_location("qw_proto_generate", ROOT / "proto" / "generate.py")
    assert spec and spec.loader
    gen = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = gen
    spec.loader.exec_module(gen)
    from importlib.metadata import version

    if version("grpcio-tools") != gen.GRPCIO_TOOLS:
        pytest.fail(f"grpcio-tools {version('grpcio-tools')} installed; stubs are pinned to {gen.GRPCIO_TOOLS} (pip install -e '.[test]')")
    assert gen.stale_files() == [], "run: python proto/generate.py"


def test_contract_follows_buf_standard_enum_and_naming_rules() -> None:
    from quakewatch.v1 import audit_pb2, ingest_pb2, monitor_pb2, registry_pb2

    for mod in (audit_pb2, ingest_pb2, monitor_pb2, registry_pb2):
        for enum in mod.DESCRIPTOR.enum_types_by_name.values():
            zero = enum.values_by_number[0].name
            assert zero.endswith("_UNSPECIFIED"), zero
        for svc in mod.DESCRIPTOR.services_by_name.values():
            assert svc.name.endswith("Service")
            assert svc.full_name.startswith("quakewatch.v1.")
