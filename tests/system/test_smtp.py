"""mailer.smtp against a real aiosmtpd server on 127.0.0.1: plain, STARTTLS, implicit TLS.

Each failure must come out as one MailerError line of the right class, with
no exception chained for a traceback; each delivery must arrive exactly as
sent, from the owner, to the To and Cc only.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest

from mailer import smtp
from mailer.errors import AuthError, ConfigError, ConnectError, MailerError
from tests.support.servers import require_or_skip
from tests.unit.test_smtp import OTHER, OWNER, PASSWORD, digest, one_line, settings

try:
    from tests.support import smtpserver
except ImportError as e:  # aiosmtpd is a test extra
    smtpserver = None  # type: ignore[assignment]
    MISSING = f"aiosmtpd is not installed: {e}"


def need_aiosmtpd() -> None:
    if smtpserver is None:
        require_or_skip(MISSING)


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    need_aiosmtpd()
    try:
        return smtpserver.make_cert(tmp_path_factory.mktemp("smtp-cert"))
    except (OSError, ValueError) as e:
        require_or_skip(str(e))


def run(**kwargs: Any) -> Any:
    need_aiosmtpd()
    return smtpserver.SmtpServer(**kwargs)


@pytest.fixture
def plain() -> Iterator[Any]:
    with run() as server:
        yield server


@pytest.fixture
def starttls(cert: tuple[Path, Path]) -> Iterator[Any]:
    with run(
        tls_context=smtpserver.server_context(*cert),
        require_starttls=True,
        authenticator=smtpserver.authenticator(OWNER, PASSWORD),
    ) as server:
        yield server


@pytest.fixture
def implicit_tls(cert: tuple[Path, Path]) -> Iterator[Any]:
    with run(
        ssl_context=smtpserver.server_context(*cert),
        # the socket is TLS from the start; aiosmtpd only counts STARTTLS as TLS
        auth_require_tls=False,
        authenticator=smtpserver.authenticator(OWNER, PASSWORD),
    ) as server:
        yield server


def test_plain_delivery_to_loopback_arrives_exactly(plain: Any) -> None:
    message = digest()
    smtp.send(settings(plain.port), message, password=None)

    [got] = plain.handler.received
    assert got.mail_from == OWNER
    assert got.rcpt_tos == [OWNER, OTHER]
    assert got.content == message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
    arrived = BytesParser(policy=policy.default).parsebytes(got.content.replace(b"\r\n", b"\n"))
    assert list(arrived.items()) == list(message.items())
    assert "Bcc" not in arrived
    body = arrived.get_body()
    assert body is not None
    assert body.get_content() == "Due today:\n.Zoë Müller (90d)\n\nnothing else\n"


def test_starttls_login_wrong_password_then_right(starttls: Any, cert: tuple[Path, Path]) -> None:
    s = settings(starttls.port, security="starttls", username=OWNER, ca_file=cert[0])

    with pytest.raises(AuthError) as excinfo:
        smtp.send(s, digest(), password="wrong")
    text = one_line(excinfo)
    assert f"127.0.0.1:{starttls.port} refused the login of {OWNER}: 535" in text
    assert "smtp.username" in text
    assert starttls.handler.received == []

    smtp.send(s, digest(), password=PASSWORD)
    [got] = starttls.handler.received
    assert (got.mail_from, got.rcpt_tos) == (OWNER, [OWNER, OTHER])


def test_implicit_tls_with_login_delivers(implicit_tls: Any, cert: tuple[Path, Path]) -> None:
    s = settings(implicit_tls.port, security="tls", username=OWNER, ca_file=cert[0])
    smtp.send(s, digest(), password=PASSWORD)
    [got] = implicit_tls.handler.received
    assert got.rcpt_tos == [OWNER, OTHER]
    assert b"Message-ID: <digest-1@mailer.invalid>" in got.content


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_untrusted_certificate_is_a_connect_error(
    security: str, request: pytest.FixtureRequest
) -> None:
    server = request.getfixturevalue("starttls" if security == "starttls" else "implicit_tls")
    s = settings(server.port, security=security, username=OWNER)  # no ca_file
    with pytest.raises(ConnectError) as excinfo:
        smtp.send(s, digest(), password=PASSWORD)
    text = one_line(excinfo)
    assert f"the TLS certificate of 127.0.0.1:{server.port} does not verify" in text
    assert "self-signed certificate" in text
    assert "smtp.ca_file" in text
    assert server.handler.received == []


def test_connection_refused() -> None:
    need_aiosmtpd()
    port = smtpserver.free_port()  # nothing listens there any more
    with pytest.raises(ConnectError) as excinfo:
        smtp.send(settings(port), digest(), password=None)
    text = one_line(excinfo)
    assert text.startswith(f"cannot connect to 127.0.0.1:{port}: Connection refused")
    assert "check smtp.host" in text


def test_server_that_never_greets_times_out() -> None:
    with socket.socket() as listener:  # accepts TCP in the kernel, never says 220
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with pytest.raises(ConnectError) as excinfo:
            smtp.send(settings(port, timeout=1), digest(), password=None)
    text = one_line(excinfo)
    assert text.startswith(f"cannot connect to 127.0.0.1:{port}: timed out")
    assert "smtp.timeout = 1 s" in text


def test_starttls_required_but_not_offered(plain: Any, cert: tuple[Path, Path]) -> None:
    s = settings(plain.port, security="starttls", username=OWNER, ca_file=cert[0])
    with pytest.raises(ConnectError) as excinfo:
        smtp.send(s, digest(), password=PASSWORD)
    assert "does not offer STARTTLS" in one_line(excinfo)
    assert plain.handler.received == []


def test_login_without_auth_offered_is_an_auth_error(plain: Any) -> None:
    # aiosmtpd offers AUTH only over TLS by default
    s = settings(plain.port, username=OWNER)
    with pytest.raises(AuthError) as excinfo:
        smtp.send(s, digest(), password=PASSWORD)
    assert "offers no login (AUTH)" in one_line(excinfo)


def test_refused_sender(plain: Any) -> None:
    plain.handler.refuse_senders.add(OWNER)
    with pytest.raises(MailerError) as excinfo:
        smtp.send(settings(plain.port), digest(), password=None)
    assert type(excinfo.value) is MailerError
    text = one_line(excinfo)
    assert f"refused the sender {OWNER}: 553 5.7.1 sender not allowed for this user" in text
    assert plain.handler.received == []


def test_all_recipients_refused(plain: Any) -> None:
    plain.handler.refuse_recipients.update({OWNER, OTHER})
    with pytest.raises(MailerError) as excinfo:
        smtp.send(settings(plain.port), digest(), password=None)
    assert type(excinfo.value) is MailerError
    text = one_line(excinfo)
    assert f"{OWNER}: 550 5.1.1 no such mailbox here" in text
    assert f"{OTHER}: 550 5.1.1" in text
    assert "delivered" not in text
    assert plain.handler.received == []


def test_one_recipient_refused_is_reported_not_swallowed(plain: Any) -> None:
    plain.handler.refuse_recipients.add(OTHER)
    with pytest.raises(MailerError) as excinfo:
        smtp.send(settings(plain.port), digest(), password=None)
    text = one_line(excinfo)
    assert f"{OTHER}: 550 5.1.1 no such mailbox here (delivered to {OWNER})" in text
    [got] = plain.handler.received
    assert got.rcpt_tos == [OWNER]


def test_password_for(monkeypatch: pytest.MonkeyPatch) -> None:
    assert smtp.password_for(settings(1)) is None  # no username: no login, no password

    s = settings(1, username=OWNER)
    monkeypatch.delenv("MAILER_TEST_SMTP_PASSWORD", raising=False)
    with pytest.raises(ConfigError) as excinfo:
        smtp.password_for(s)
    assert "MAILER_TEST_SMTP_PASSWORD is not set" in one_line(excinfo)

    monkeypatch.setenv("MAILER_TEST_SMTP_PASSWORD", "from-env")
    assert smtp.password_for(s) == "from-env"
    # the command wins over the environment, as for IMAP
    assert smtp.password_for(settings(1, username=OWNER, password_command="echo hunter2")) == (
        "hunter2"
    )
    with pytest.raises(ConfigError) as excinfo:
        smtp.password_for(settings(1, username=OWNER, password_command="false"))
    assert one_line(excinfo).startswith("smtp.password_command 'false' failed")


# -- smtp.check: what `mailer check` does with [smtp] ---------------------------------------


def test_check_logs_in_over_starttls_and_sends_nothing(
    starttls: Any, cert: tuple[Path, Path]
) -> None:
    s = settings(starttls.port, security="starttls", username=OWNER, ca_file=cert[0])
    lines: list[str] = []
    smtp.check(s, password=PASSWORD, report=lines.append)
    assert lines == [
        f"smtp: connected to 127.0.0.1:{starttls.port}",
        "smtp: STARTTLS, certificate verified",
        f"smtp: logged in as {OWNER}",
        "smtp: QUIT, nothing sent",
    ]
    assert starttls.handler.received == []
    with pytest.raises(AuthError) as excinfo:
        smtp.check(s, password="wrong", report=lines.append)
    assert "refused the login" in one_line(excinfo)


def test_check_over_implicit_tls_and_without_login(
    implicit_tls: Any, plain: Any, cert: tuple[Path, Path]
) -> None:
    lines: list[str] = []
    s = settings(implicit_tls.port, security="tls", username=OWNER, ca_file=cert[0])
    smtp.check(s, password=PASSWORD, report=lines.append)
    assert (
        lines[0] == f"smtp: connected to 127.0.0.1:{implicit_tls.port} (TLS, certificate verified)"
    )
    lines.clear()
    smtp.check(settings(plain.port), password=None, report=lines.append)
    assert lines[1:] == ["smtp: no login (smtp.username is not set)", "smtp: QUIT, nothing sent"]
    assert implicit_tls.handler.received == plain.handler.received == []
    with pytest.raises(ConnectError) as excinfo:  # no CA file: the certificate does not verify
        smtp.check(settings(implicit_tls.port, security="tls"), password=None, report=print)
    assert "does not verify" in one_line(excinfo)


def test_mailer_check_reports_imap_then_smtp(
    imap_user: Any, starttls: Any, cert: tuple[Path, Path], tmp_path: Path
) -> None:
    from tests.support.scanhelp import mailer, write_config

    smtp_section = {
        "host": "127.0.0.1",
        "port": starttls.port,
        "security": "starttls",
        "username": OWNER,
        "password_env": "MAILER_TEST_SMTP_PASSWORD",
        "ca_file": str(cert[0]),
    }
    config = write_config(tmp_path, imap_user, smtp=smtp_section)
    env = {"MAILER_TEST_SMTP_PASSWORD": PASSWORD}
    out = mailer(config, "check", user=imap_user, env=env)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("connected to 127.0.0.1:")
    assert lines[-4:] == [
        f"smtp: connected to 127.0.0.1:{starttls.port}",
        "smtp: STARTTLS, certificate verified",
        f"smtp: logged in as {OWNER}",
        "smtp: QUIT, nothing sent",
    ]
    assert starttls.handler.received == []
    wrong = mailer(config, "check", user=imap_user, env={"MAILER_TEST_SMTP_PASSWORD": "nope"})
    assert wrong.returncode == 1
    assert wrong.stderr.strip().splitlines()[-1].startswith("mailer: error: ")
    assert "refused the login" in wrong.stderr
