"""Plan notifications by e-mail: handed to a real SMTP server on a socket (aiosmtpd),
read back with the standard library's parser; refusals retried; no mail server, no mail.
SQLite and PostgreSQL (the ``engine`` fixture)."""

from __future__ import annotations

import email
import email.policy
import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from quakewatch.server.decision import activation_store
from quakewatch.server.decision.activation import Situation
from quakewatch.server.decision.mail import smtp_mailer
from quakewatch.server.decision.notify import NO_MAIL_SERVER, deliver_due, placeholder
from quakewatch.server.decision.plan_loader import parse_plan_text
from quakewatch.server.settings import SmtpSettings
from quakewatch.server.storage.audit import list_entries, verify_chain
from quakewatch.server.storage.tokens import create_token
from test_plans import PLAN


class MailServer:
    """An SMTP server on 127.0.0.1 that keeps every message and refuses the next
    ``refuse`` ones with 451 (a temporary failure)."""

    def __init__(self, refuse: int = 0, login: tuple[str, str] | None = None, tls: Any = None) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []
        self.refuse = refuse
        outer = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
                if outer.refuse > 0:
                    outer.refuse -= 1
                    return "451 4.3.0 try again later"
                msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
                outer.messages.append((list(envelope.rcpt_tos), msg))  # type: ignore[arg-type]
                return "250 OK"

        def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
            ok = login is not None and (auth_data.login.decode(), auth_data.password.decode()) == login
            return AuthResult(success=ok)

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port,
                                     authenticator=authenticate if login else None, tls_context=tls,
                                     require_starttls=tls is not None, auth_require_tls=tls is not None)
        self.controller.start()

    def close(self) -> None:
        self.controller.stop()


@pytest.fixture
def mail_server() -> Iterator[MailServer]:
    m = MailServer()
    yield m
    m.close()


def plan_with(*targets: str) -> str:
    return PLAN + "notifications:\n" + "".join(f"  - {t}\n" for t in targets)


def _activate(engine: Any, text: str, deaths: float = 300.0) -> Any:
    loaded, errors = parse_plan_text(text, "plan.yaml")
    assert loaded is not None, errors
    _, hq = create_token(engine, "hq", None)
    now = datetime.now(UTC)
    return activation_store.create(engine, hq, loaded, text, Situation(origin_time=now - timedelta(minutes=5),
                                                                       deaths=deaths), now=now), now


def _smtp(server: MailServer, **extra: Any) -> SmtpSettings:
    return SmtpSettings(host="127.0.0.1", port=server.port, security="none", from_address="qw-duty@quakewatch.local",
                        **extra)


def test_an_activation_mails_its_email_targets(engine: Any, mail_server: MailServer) -> None:
    act, now = _activate(engine, plan_with("{role: commander, channel: email, address: 'commander@hq.shanxi.local'}",
                                           "{role: rescue, channel: email, address: 'rescue@hq.shanxi.local', levels: [I, II]}"))
    assert {(m["role"], m["status"]) for m in act.notifications} == {("commander", "pending"), ("rescue", "pending")}
    sent = deliver_due(engine, now, max_attempts=3, timeout_s=5.0, mailer=smtp_mailer(_smtp(mail_server)))
    assert sorted(d.status for d in sent) == ["delivered", "delivered"]
    by_to = {to[0]: msg for to, msg in mail_server.messages}
    assert set(by_to) == {"commander@hq.shanxi.local", "rescue@hq.shanxi.local"}
    msg = by_to["commander@hq.shanxi.local"]
    body = msg.get_content()
    doc = json.loads(body[body.index("{"):])
    assert msg["From"] == "qw-duty@quakewatch.local" and msg["To"] == "commander@hq.shanxi.local"
    assert msg["Message-ID"] == f"<{doc['notification_id']}@quakewatch>"
    assert msg["X-QuakeWatch-Notification-Id"] == doc["notification_id"]
    assert "level I (especially major) activated" in msg["Subject"] and doc["schema"] == "quakewatch-notification/1"
    assert doc["activation_id"] == act.row.activation_id and doc["role"] == "commander" and doc["level"] == "I"
    # sent once; the outcome is audited
    assert deliver_due(engine, now + timedelta(hours=1), max_attempts=3, timeout_s=5.0,
                       mailer=smtp_mailer(_smtp(mail_server))) == []
    assert len(mail_server.messages) == 2
    assert sorted(json.loads(e.details_json)["channel"] for e in list_entries(engine) if e.action == "plan.notify") == ["email", "email"]
    assert verify_chain(engine)


def test_a_refusal_is_retried_and_a_dead_server_given_up(engine: Any) -> None:
    server = MailServer(refuse=1)
    try:
        act, now = _activate(engine, plan_with("{role: commander, channel: email, address: 'commander@hq.shanxi.local'}"))
        mailer = smtp_mailer(_smtp(server))
        (first,) = deliver_due(engine, now, max_attempts=3, timeout_s=5.0, mailer=mailer)
        assert first.status == "pending" and first.attempts == 1 and first.error.startswith("SMTP 451")
        assert deliver_due(engine, now + timedelta(seconds=4), max_attempts=3, timeout_s=5.0, mailer=mailer) == []
        (second,) = deliver_due(engine, now + timedelta(seconds=5), max_attempts=3, timeout_s=5.0, mailer=mailer)
        assert second.status == "delivered" and second.attempts == 2 and len(server.messages) == 1
    finally:
        server.close()
    act, now = _activate(engine, plan_with("{role: commander, channel: email, address: 'commander@hq.shanxi.local'}"))
    dead = smtp_mailer(SmtpSettings(host="127.0.0.1", port=server.port, security="none", from_address="qw@q.local"))
    outcomes = [deliver_due(engine, now + timedelta(minutes=k), max_attempts=2, timeout_s=2.0, mailer=dead) for k in (0, 1)]
    assert [d.status for run in outcomes for d in run] == ["pending", "failed"]


def _private_ca(tmp_path: Any) -> tuple[Any, Any]:
    """A CA and a certificate it signs for 127.0.0.1: (server TLS context, CA file)."""
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import ipaddress

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    now = datetime.now(UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("QuakeWatch test CA")).issuer_name(name("QuakeWatch test CA"))
          .public_key(ca_key.public_key()).serial_number(1).not_valid_before(now - timedelta(hours=1))
          .not_valid_after(now + timedelta(days=1)).add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
          .sign(ca_key, hashes.SHA256()))
    cert = (x509.CertificateBuilder().subject_name(name("127.0.0.1")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(2).not_valid_before(now - timedelta(hours=1))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .sign(ca_key, hashes.SHA256()))
    ca_file, cert_file, key_file = tmp_path / "ca.pem", tmp_path / "server.pem", tmp_path / "server.key"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    return server, ca_file


def test_starttls_login_with_the_password_from_the_environment(engine: Any, tmp_path: Any,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """STARTTLS against a server whose certificate a private CA signs (``ca_file``), then a
    login; the server refuses mail and AUTH before TLS."""
    tls, ca_file = _private_ca(tmp_path)
    server = MailServer(login=("duty", "s3cret"), tls=tls)
    try:
        act, now = _activate(engine, plan_with("{role: commander, channel: email, address: 'commander@hq.shanxi.local'}"))
        monkeypatch.setenv("QW_TEST_SMTP_PASSWORD", "s3cret")
        cfg = SmtpSettings(host="127.0.0.1", port=server.port, security="starttls", from_address="qw-duty@quakewatch.local",
                           username="duty", password_env="QW_TEST_SMTP_PASSWORD", ca_file=ca_file)
        assert "s3cret" not in cfg.model_dump_json()  # the configuration names the variable only
        (d,) = deliver_due(engine, now, max_attempts=3, timeout_s=5.0, mailer=smtp_mailer(cfg))
        assert d.status == "delivered" and len(server.messages) == 1
        # without the CA the server's certificate is not trusted: not sent, retried
        act, now = _activate(engine, plan_with("{role: commander, channel: email, address: 'commander@hq.shanxi.local'}"))
        untrusted = cfg.model_copy(update={"ca_file": None})
        (d,) = deliver_due(engine, now, max_attempts=3, timeout_s=5.0, mailer=smtp_mailer(untrusted))
        assert d.status == "pending" and "CERTIFICATE_VERIFY_FAILED" in d.error and len(server.messages) == 1
    finally:
        server.close()


def test_without_a_mail_server_email_is_undeliverable_and_placeholders_never_sent(engine: Any) -> None:
    act, now = _activate(engine, plan_with("{role: commander, channel: email, address: 'commander@hq.shanxi.local'}",
                                           "{role: rescue, channel: email, address: 'rescue-duty@example.org'}"))
    status = {m["role"]: (m["status"], m["last_error"]) for m in act.notifications}
    assert status["rescue"][0] == "undeliverable" and "RFC 2606" in status["rescue"][1]
    (d,) = deliver_due(engine, now, max_attempts=3, timeout_s=5.0)
    assert (d.status, d.error, d.attempts) == ("undeliverable", NO_MAIL_SERVER, 0)
    assert placeholder("someone@example.org") and placeholder("x@duty.test") and not placeholder("x@hq.gov.cn")
    assert placeholder("Duty <duty@example.org>")  # the address a mail server would take from it


def test_one_unsendable_message_does_not_hold_up_the_batch(engine: Any, mail_server: MailServer) -> None:
    """A plan title folded over two lines (YAML ``>``) cannot be a Subject as it is: the
    line break is dropped; a failure of any one message is that message's, recorded."""
    text = plan_with("{role: commander, channel: email, address: 'commander@hq.shanxi.local'}")
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("title:"))
    lines[at] = "title: >\n  Test provincial\n  earthquake plan"
    act, now = _activate(engine, "\n".join(lines) + "\n")
    assert act.plan.plan.title.endswith("\n")
    (d,) = deliver_due(engine, now, max_attempts=3, timeout_s=5.0, mailer=smtp_mailer(_smtp(mail_server)))
    assert d.status == "delivered"
    (msg,) = [m for _, m in mail_server.messages]
    assert " ".join(str(msg["Subject"]).split()).startswith("Test provincial earthquake plan: level I")

    def broken(message: Any, timeout_s: float) -> tuple[bool, str]:
        raise UnicodeEncodeError("ascii", "密码", 0, 1, "ordinal not in range(128)")

    from quakewatch.server.decision.mail import Mailer

    act, now = _activate(engine, plan_with("{role: commander, channel: email, address: 'commander@hq.shanxi.local'}"))
    (d,) = deliver_due(engine, now, max_attempts=3, timeout_s=5.0, mailer=Mailer("qw@q.local", broken))
    assert d.status == "pending" and "UnicodeEncodeError" in d.error


def test_email_delivered_over_the_live_path(tmp_path: Any, mail_server: MailServer) -> None:
    """The server's notification job hands e-mail to the configured mail server."""
    import asyncio

    from conftest import run, running_server
    from quakewatch.clients.client import AsyncClient
    from quakewatch.server.settings import DecisionSettings
    from quakewatch.v1 import decision_pb2

    d = tmp_path / "data" / "decision" / "plans"
    d.mkdir(parents=True)
    (d / "province.yaml").write_text(plan_with("{role: commander, channel: email, address: 'commander@hq.shanxi.local'}",
                                               "{role: relief, channel: sms, address: '+86 139 0000 0000'}"), encoding="utf-8")
    origin = datetime.now(UTC)
    estimate = json.dumps({"totals": {"casualties": {"fatalities": 400.0}, "losses": {"structural": 1e9}},
                           "situation": {"deaths": 400.0, "origin_time": origin.isoformat()}})

    async def live() -> dict[str, Any]:
        settings = DecisionSettings(notification_interval_s=0.2, smtp=_smtp(mail_server))
        async with running_server(tmp_path / "data", decision=settings) as srv:
            tok, _ = create_token(srv.engine, "hq", None)
            async with AsyncClient(srv.address, tok) as c:
                act = await c.decision.Respond(decision_pb2.RespondRequest(plan="plans/province.yaml", estimate_json=estimate))
                for _ in range(100):
                    if mail_server.messages:
                        break
                    await asyncio.sleep(0.1)
                await asyncio.sleep(0.5)  # the job records the outcome after the hand-over
                got = await c.decision.GetActivation(decision_pb2.GetActivationRequest(activation_id=act.activation_id))
        return json.loads(got.document_json)

    doc = run(live())
    assert [to for to, _ in mail_server.messages] == [["commander@hq.shanxi.local"]]
    assert sorted((m["role"], m["channel"], m["status"]) for m in doc["notifications"]) == [
        ("commander", "email", "delivered"), ("relief", "sms", "undeliverable")]


@pytest.mark.parametrize(("smtp", "field"), [
    ({"host": "", "from_address": "qw@q.local"}, "host"),
    ({"host": "mail.local", "from_address": "qw@q.local", "port": 0}, "port"),
    ({"host": "mail.local", "from_address": "qw@q.local", "security": "ssl3"}, "security"),
    ({"host": "mail.local"}, "from_address"),
    ({"host": "mail.local", "from_address": "qw@q.local", "password": "s3cret"}, "password"),  # only via the environment
    ({"host": "mail.local", "from_address": "qw@q.local", "username": "duty", "security": "none"}, "in the clear"),
    ({"host": "mail.local", "from_address": "qw@q.local", "ca_file": "/nonexistent/ca.pem"}, "ca_file"),
])
def test_mail_server_settings_are_checked(smtp: dict[str, Any], field: str) -> None:
    from pydantic import ValidationError

    from quakewatch.server.settings import Settings

    with pytest.raises(ValidationError, match=field):
        Settings.model_validate({"decision": {"smtp": smtp}})
