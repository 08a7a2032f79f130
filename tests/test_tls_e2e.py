"""TLS and mutual TLS over a real socket, with a throw-away CA made in the test."""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

import grpc
import pytest
from conftest import run, running_server

from quakewatch.clients import AsyncClient
from quakewatch.server.storage.tokens import create_token
from quakewatch.v1 import registry_pb2

pytestmark = pytest.mark.e2e


def _pki(d: Path) -> dict[str, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def write(key: ec.EllipticCurvePrivateKey, cert: x509.Certificate, stem: str) -> None:
        (d / f"{stem}.key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        (d / f"{stem}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder().subject_name(name("qw-test-ca")).issuer_name(name("qw-test-ca")).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=1)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(ca_key, hashes.SHA256())
    )
    write(ca_key, ca, "ca")

    def leaf(cn: str, server: bool) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        b = (
            x509.CertificateBuilder().subject_name(name(cn)).issuer_name(ca.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=1)).not_valid_after(now + dt.timedelta(days=1))
        )
        if server:
            b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        write(key, b.sign(ca_key, hashes.SHA256()), cn)

    leaf("server", True)
    leaf("gateway-1", False)
    return {k: d / f"{k}.pem" for k in ("ca", "server", "gateway-1")} | {f"{k}.key": d / f"{k}.key" for k in ("server", "gateway-1")}


def test_mutual_tls_accepts_a_signed_client_and_refuses_others(tmp_path: Path) -> None:
    pki = _pki(tmp_path)

    async def scenario() -> None:
        async with running_server(tmp_path / "data", tls_cert=pki["server"], tls_key=pki["server.key"], tls_client_ca=pki["ca"]) as srv:
            tok, _ = create_token(srv.engine, "admin")
            req = registry_pb2.ListStructuresRequest()
            async with AsyncClient(srv.address, tok, tls_ca=pki["ca"], tls_cert=pki["gateway-1"], tls_key=pki["gateway-1.key"]) as c:
                await c.registry.ListStructures(req)
            for kw in ({"tls_ca": pki["ca"]}, {}):  # no client certificate; plaintext
                async with AsyncClient(srv.address, tok, timeout_s=3.0, **kw) as c:  # type: ignore[arg-type]
                    with pytest.raises(grpc.aio.AioRpcError) as ei:
                        await c.registry.ListStructures(req)
                    assert ei.value.code() == grpc.StatusCode.UNAVAILABLE

    run(scenario())


def test_server_tls_without_client_certificates(tmp_path: Path) -> None:
    pki = _pki(tmp_path)

    async def scenario() -> None:
        async with running_server(tmp_path / "data", tls_cert=pki["server"], tls_key=pki["server.key"]) as srv:
            tok, _ = create_token(srv.engine, "admin")
            async with AsyncClient(srv.address, tok, tls_ca=pki["ca"]) as c:
                r = await c.registry.ListStructures(registry_pb2.ListStructuresRequest())
                assert list(r.structures) == []

    run(scenario())


def test_a_drill_server_speaks_tls_like_the_live_server(tmp_path: Path) -> None:
    """Participants reach a drill's server over TLS when the live server uses TLS; the
    drill's own runner talks to it on its loopback port."""
    from quakewatch.v1 import drills_pb2

    pki = _pki(tmp_path)

    async def scenario() -> None:
        async with running_server(tmp_path / "data", tls_cert=pki["server"], tls_key=pki["server.key"]) as srv:
            tok, _ = create_token(srv.engine, "drill")
            async with AsyncClient(srv.address, tok, tls_ca=pki["ca"]) as c:
                d = await c.drills.StartDrill(drills_pb2.StartDrillRequest(scenario="coal-mine-rockburst", start_in_s=3600))
                participant = d.participants[0].token
                async with AsyncClient(d.drill_server, participant, tls_ca=pki["ca"]) as p:
                    got = await p.registry.ListStructures(registry_pb2.ListStructuresRequest())
                    assert [s.structure_id for s in got.structures] == ["coal-mine-3"]
                async with AsyncClient(d.drill_server, participant, timeout_s=3.0) as p:  # plaintext: refused
                    with pytest.raises(grpc.aio.AioRpcError) as ei:
                        await p.registry.ListStructures(registry_pb2.ListStructuresRequest())
                    assert ei.value.code() == grpc.StatusCode.UNAVAILABLE
                await c.drills.EndDrill(drills_pb2.EndDrillRequest(drill_id=d.drill_id))

    run(scenario())
