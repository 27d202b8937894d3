"""mailer.smtp without a server: errors found before connecting, settings from the config.

Each failure must come out as one MailerError line of the right class. The
deliveries against a real aiosmtpd server are in tests/system/test_smtp.py.
"""

from __future__ import annotations

import dataclasses
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from mailer import smtp
from mailer.config import Smtp
from mailer.errors import ConfigError, MailerError
from mailer.smtp import SmtpSettings

OWNER, OTHER = "me@example.com", "me@work.example.org"


PASSWORD = "s3cret pass"


def settings(port: int, **changes: Any) -> SmtpSettings:
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "username": None,
        "password_env": "MAILER_TEST_SMTP_PASSWORD",
        "password_command": None,
        "keyring": False,
        "ca_file": None,
        "timeout": 5,
        "sender": OWNER,
    }
    values.update(changes)
    return SmtpSettings(**values)


def digest() -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"mailer <{OWNER}>"
    msg["To"] = f"Pat Doe <{OWNER}>"
    msg["Cc"] = OTHER
    msg["Subject"] = "Your mailer digest: 3 due, 1 reply owed — Zoë"
    msg["Date"] = "Mon, 02 Jun 2025 08:30:00 +0000"
    msg["Message-ID"] = "<digest-1@mailer.invalid>"
    # a line starting with "." tests dot-stuffing; non-ASCII tests the encoding
    msg.set_content("Due today:\n.Zoë Müller (90d)\n\nnothing else\n")
    return msg


def one_line(excinfo: pytest.ExceptionInfo[MailerError]) -> str:
    text = str(excinfo.value)
    assert "\n" not in text
    error = excinfo.value
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)
    return text


def test_plain_text_to_a_remote_host_is_refused_before_connecting() -> None:
    s = settings(25, host="192.0.2.1", username=OWNER)  # TEST-NET: would hang if tried
    with pytest.raises(ConfigError) as excinfo:
        smtp.send(s, digest(), password=PASSWORD)
    text = one_line(excinfo)
    assert "smtp.security = none" in text and "192.0.2.1" in text
    assert "loopback" in text


def test_missing_ca_file_is_a_config_error(tmp_path: Path) -> None:
    s = settings(465, security="tls", ca_file=tmp_path / "nope.pem")
    with pytest.raises(ConfigError) as excinfo:
        smtp.send(s, digest(), password=None)
    assert f"smtp.ca_file {tmp_path / 'nope.pem'}: cannot load" in one_line(excinfo)


@pytest.mark.parametrize("header", ["Bcc", "To"])
def test_bcc_or_no_recipient_is_the_callers_bug(header: str) -> None:
    message = digest()
    del message["Cc"]
    if header == "Bcc":
        message["Bcc"] = "someone@example.net"
    else:
        del message["To"]
    with pytest.raises(ValueError):
        smtp.send(settings(1), message, password=None)


def test_from_config_defaults_the_port_by_security() -> None:
    section = Smtp(
        host="smtp.example.com",
        port=None,
        security="starttls",
        username=OWNER,
        password_env="MAILER_PASSWORD",
        password_command=None,
        keyring=False,
        ca_file=None,
        timeout=60,
    )
    s = smtp.from_section(section, OWNER)
    assert s is not None
    assert (s.host, s.port, s.security, s.sender) == ("smtp.example.com", 587, "starttls", OWNER)
    section = dataclasses.replace(section, security="tls")
    assert smtp.from_section(section, OWNER).port == 465  # type: ignore[union-attr]
    section = dataclasses.replace(section, port=2525)
    assert smtp.from_section(section, OWNER).port == 2525  # type: ignore[union-attr]
    section = dataclasses.replace(section, host=None)
    assert smtp.from_section(section, OWNER) is None
