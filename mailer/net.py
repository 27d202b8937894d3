"""What IMAP and SMTP share at the network edge: TLS contexts, the loopback
rule for plain text, and turning socket/TLS failures into one short reason."""

from __future__ import annotations

import ipaddress
import os
import re
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
    """A verifying client context with the system's trusted CAs; `ca_file` (config key
    `key`) is extra trust."""
    hashed = hashed_ca_dir()
    ctx = ssl.create_default_context(capath=hashed) if hashed else ssl.create_default_context()
    if ca_file:
        try:
            ctx.load_verify_locations(cafile=str(ca_file))
        except (OSError, ssl.SSLError) as e:
            raise ConfigError(f"{key} {ca_file}: cannot load: {reason(e)}") from None
    return ctx


_HASHED_NAME = re.compile(r"[0-9a-f]{8}\.[0-9]+")


def hashed_ca_dir() -> str | None:
    """OpenSSL's directory of the system's CAs, when it holds them by subject hash.

    The default context reads the whole CA bundle (about 140 certificates, 35 ms
    of every command that connects, a tenth of a scan that finds new mail); from
    such a directory OpenSSL reads only the certificates a handshake needs. Debian,
    Ubuntu, Alpine and Arch keep the same CAs both ways. None without one (Fedora
    keeps only the bundle), or when SSL_CERT_FILE names another bundle than the
    system's: then the default context, which reads it. SSL_CERT_DIR, if set, is
    the directory.
    """
    paths = ssl.get_default_verify_paths()
    named = os.environ.get(paths.openssl_cafile_env)
    if named and os.path.realpath(named) != os.path.realpath(paths.openssl_cafile):
        return None
    if not paths.capath:
        return None
    try:
        with os.scandir(paths.capath) as entries:
            if any(_HASHED_NAME.fullmatch(e.name) for e in entries):
                return paths.capath
    except OSError:
        pass
    return None


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
