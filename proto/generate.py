"""Regenerate the committed Python stubs from proto/quakewatch/v1/*.proto.

Usage::

    python proto/generate.py          # rewrite the stubs in place
    python proto/generate.py --check  # exit 1 when the committed stubs are stale

The generator is pinned (``GRPCIO_TOOLS``) so that the output is reproducible and
the runtime floors in pyproject.toml can match it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

GRPCIO_TOOLS = "1.85.1"
PROTO_ROOT = Path(__file__).resolve().parent
PACKAGE_DIR = PROTO_ROOT / "quakewatch" / "v1"
GENERATED_SUFFIXES = ("_pb2.py", "_pb2_grpc.py", "_pb2.pyi")


def _check_generator() -> None:
    try:
        found = version("grpcio-tools")
    except PackageNotFoundError:
        sys.exit(f"grpcio-tools=={GRPCIO_TOOLS} is required: pip install grpcio-tools=={GRPCIO_TOOLS}")
    if found != GRPCIO_TOOLS:
        sys.exit(f"grpcio-tools {found} found; the stubs are pinned to {GRPCIO_TOOLS}")


def generate(out_dir: Path) -> list[Path]:
    """Run protoc on every .proto into ``out_dir``; return the generated files."""
    import grpc_tools
    from grpc_tools import protoc

    well_known = Path(grpc_tools.__file__).parent / "_proto"
    protos = sorted(PACKAGE_DIR.glob("*.proto"))
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *[str(p.relative_to(PROTO_ROOT)) for p in protos],
    ]
    if protoc.main(args) != 0:
        raise RuntimeError("protoc failed: " + " ".join(args))
    gen = out_dir / "quakewatch" / "v1"
    return sorted(p for p in gen.iterdir() if p.name.endswith(GENERATED_SUFFIXES))


def stale_files() -> list[str]:
    """Names of committed stubs that differ from a fresh generation (or are missing/extra)."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = {p.name: p.read_bytes() for p in generate(Path(tmp))}
    committed = {p.name: p.read_bytes() for p in PACKAGE_DIR.iterdir() if p.name.endswith(GENERATED_SUFFIXES)}
    names = sorted(set(fresh) | set(committed))
    return [n for n in names if fresh.get(n) != committed.get(n)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only report stale stubs")
    args = parser.parse_args()
    _check_generator()
    if args.check:
        stale = stale_files()
        if stale:
            print("stale generated stubs: " + ", ".join(stale), file=sys.stderr)
            return 1
        print("generated stubs are up to date")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        for old in PACKAGE_DIR.iterdir():
            if old.name.endswith(GENERATED_SUFFIXES):
                old.unlink()
        for p in generate(Path(tmp)):
            (PACKAGE_DIR / p.name).write_bytes(p.read_bytes())
            print(f"wrote {PACKAGE_DIR / p.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
