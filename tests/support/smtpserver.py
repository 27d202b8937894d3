"""A real SMTP server for tests: aiosmtpd's Controller on 127.0.0.1, a free port.

It records each delivered envelope, refuses the senders and recipients it is
told to, and checks one login. Imports aiosmtpd, so a test module importing
this can tell a missing aiosmtpd (ImportError) from a failing test.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as Server
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_cert(directory: Path) -> tuple[Path, Path]:
    """A self-signed (cert.pem, key.pem) for localhost and 127.0.0.1; EC keys are instant."""
    if shutil.which("openssl") is None:
        raise FileNotFoundError("openssl not found; it is needed for the test certificate")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-nodes", "-days", "2",
            "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert), str(key))
    return ctx


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes


@dataclass
class Recorder:
    """The aiosmtpd handler: what arrived, and what to refuse."""

    refuse_senders: set[str] = field(default_factory=set)
    refuse_recipients: set[str] = field(default_factory=set)
    received: list[Received] = field(default_factory=list)
    delay: float = 0.0  # seconds before DATA is answered: a slow server, for races

    async def handle_MAIL(
        self, server: Server, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.refuse_senders:
            return "553 5.7.1 sender not allowed for this user"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Server, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.refuse_recipients:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Server, session: Session, envelope: Envelope) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        content = envelope.original_content or b""
        self.received.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos), content))
        return "250 OK queued"


def authenticator(user: str, password: str) -> Any:
    """An aiosmtpd authenticator that accepts exactly this user and password."""

    def check(
        server: Server, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            user.encode(),
            password.encode(),
        )
        # handled=False: aiosmtpd then sends the 235 or 535 itself
        return AuthResult(success=ok, handled=False)

    return check


class SmtpServer:
    """`with SmtpServer(...) as server:` runs it; server.port, server.handler.received."""

    def __init__(self, **smtp_kwargs: Any) -> None:
        self.handler = Recorder()
        self.port = free_port()
        self._controller = Controller(
            self.handler, hostname="127.0.0.1", port=self.port, **smtp_kwargs
        )

    def __enter__(self) -> SmtpServer:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()
