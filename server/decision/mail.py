"""Plan notifications by e-mail: one message per target, handed to the operator's mail server.

The message (RFC 5322, UTF-8) carries the notification's text as its subject and first
paragraph, then the JSON document a webhook would receive (``notify.payload``), and the
headers ``Message-ID: <notification_id@quakewatch>`` and
``X-QuakeWatch-Notification-Id``: a resend after a lost answer has the same Message-ID,
so mail clients and ticket systems show it once.  Delivery is done by the mail server:
a message it accepted (2xx after DATA) counts as delivered.  Any refusal or connection
failure is retried by the outbox (``notify.deliver_due``).

The password is read from the environment variable the settings name
(``decision.smtp.password_env``), never from the configuration file; a login needs
``starttls`` or ``tls`` (the settings refuse it in the clear).  ``timeout_s`` bounds
each exchange with the server (connect, each command), not the whole hand-over.
Every refusal, permanent (5xx) ones included, is retried until the attempts run out:
a mailbox that is full or a relay that is misconfigured is often mended within them.
"""

from __future__ import annotations

import json
import os
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

from ..settings import SmtpSettings

__all__ = ["Mail", "Mailer", "compose", "smtp_mailer"]

#: sends one composed message (each exchange within a timeout in seconds): (accepted, why not)
Mail = Callable[[EmailMessage, float], tuple[bool, str]]


@dataclass(frozen=True)
class Mailer:
    """Where notification mail comes from and how it leaves."""

    from_address: str
    send: Mail


def compose(notification_id: str, to: str, sender: str, payload_json: str) -> EmailMessage:
    """The message of one notification (``payload_json``: its JSON document)."""
    doc = json.loads(payload_json)
    # one line: a header cannot hold a line break (a folded YAML title ends with one)
    text = " ".join(str(doc.get("message") or "QuakeWatch plan notification").split())
    msg = EmailMessage()
    msg["Subject"] = ("[EXERCISE] " if doc.get("exercise") else "") + text
    msg["From"] = sender
    msg["To"] = to.strip()
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = f"<{notification_id}@quakewatch>"
    msg["X-QuakeWatch-Notification-Id"] = notification_id
    msg.set_content(f"{text}\n\n{json.dumps(doc, indent=2, ensure_ascii=False)}\n", charset="utf-8")
    return msg


def _text(raw: bytes | str) -> str:
    return raw.decode(errors="replace") if isinstance(raw, bytes) else raw


def _refusals(refused: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(f"{to}: {code} {_text(reason)}" for to, (code, reason) in refused.items())[:512]


def smtp_mailer(cfg: SmtpSettings) -> Mailer:
    """Hand messages to ``cfg``'s server (a new connection per message: the outbox sends
    few, and a dropped connection must not hold the rest back)."""
    password = os.environ.get(cfg.password_env, "") if cfg.password_env else ""
    context = ssl.create_default_context(cafile=str(cfg.ca_file) if cfg.ca_file else None)

    def send(msg: EmailMessage, timeout_s: float) -> tuple[bool, str]:
        server: smtplib.SMTP | None = None
        try:
            if cfg.security == "tls":
                server = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=timeout_s, context=context)
            else:
                server = smtplib.SMTP(cfg.host, cfg.port, timeout=timeout_s)
            if cfg.security == "starttls":
                server.starttls(context=context)
            if cfg.username:
                server.login(cfg.username, password)
            refused = server.send_message(msg)
            # one recipient per message: any refusal is the whole message's
            result = (False, _refusals(refused)) if refused else (True, "")
        except smtplib.SMTPRecipientsRefused as exc:
            result = False, _refusals(exc.recipients)
        except smtplib.SMTPResponseException as exc:
            result = False, f"SMTP {exc.smtp_code} {_text(exc.smtp_error)}"[:512]
        except (smtplib.SMTPException, OSError, ValueError, UnicodeError) as exc:  # not ASCII credentials too
            result = False, (str(exc) or type(exc).__name__)[:512]
        if server is not None:  # after the answer to DATA: how QUIT goes changes nothing
            try:
                server.quit()
            except (smtplib.SMTPException, OSError):
                server.close()
        return result

    return Mailer(cfg.from_address, send)
