"""What IMAP and SMTP share at the network edge: TLS contexts, the loopback
rule for plain text, and turning socket/TLS failures into one short reason."""

from __future__ import annotations

import ipaddress
import socket
import ssl
from pathlib import Path

from mailer.errors import ConfigError, one_line


def is_loopback(host: str) -> bool:
    """Does `host` resolve only to loopback addresses (where plain text is allowed)?"""
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return all(ipaddress.ip_address(info[4][0]).is_loopback for info in infos)


def tls_context(ca_file: Path | None, key: str) -> ssl.SSLContext:
    """A verifying client context; `ca_file` (config key `key`) is extra trust."""
    ctx = ssl.create_default_context()
    if ca_file:
        try:
            ctx.load_verify_locations(cafile=str(ca_file))
        except (OSError, ssl.SSLError) as e:
            raise ConfigError(f"{key} {ca_file}: cannot load: {reason(e)}") from None
    return ctx


def reason(e: BaseException) -> str:
    """The short cause of a network failure, for a one-line error."""
    if isinstance(e, ssl.SSLCertVerificationError):
        return one_line(e.verify_message or str(e))
    if isinstance(e, socket.gaierror):
        return "name not found"
    if isinstance(e, TimeoutError):
        return "timed out"
    if isinstance(e, OSError) and e.strerror and not isinstance(e, ssl.SSLError):
        return one_line(e.strerror)
    return one_line(str(e)) or type(e).__name__
