"""Which CAs a connection trusts without `account.ca_file`: the system's, read from
OpenSSL's hashed directory when there is one (mailer.net.hashed_ca_dir), else as
Python's default context reads them; against a real Dovecot over verified TLS."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.support.dovecot import ImapUser
from tests.support.scanhelp import load_history, mailer, write_config


def _openssl(*args: str) -> str:
    return subprocess.run(
        ["openssl", *args], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()


def _hashed(certs: Path, cert: Path) -> None:
    """`cert` in `certs` under its subject hash, as c_rehash names it."""
    shutil.copy(cert, certs / f"{_openssl('x509', '-subject_hash', '-noout', '-in', str(cert))}.0")


def _other_ca(tmp: Path) -> Path:
    out = tmp / "other.pem"
    _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-subj", "/CN=other test CA", "-days", "2",
        "-keyout", str(tmp / "other.key"), "-out", str(out),
    )  # fmt: skip
    return out


def test_the_system_cas_are_read_from_a_hashed_directory_or_the_bundle_named(
    imap_user: ImapUser, tmp_path: Path
) -> None:
    load_history(imap_user)
    config = write_config(tmp_path, imap_user)
    text = config.read_text()
    config.write_text("\n".join(x for x in text.splitlines() if not x.startswith("ca_file")))
    certs = tmp_path / "certs"
    certs.mkdir()
    _hashed(certs, _other_ca(tmp_path))
    server_ca = Path(imap_user.cert_path)

    def scan(**env: str) -> subprocess.CompletedProcess[str]:
        return mailer(config, "scan", user=imap_user, env={"SSL_CERT_DIR": str(certs), **env})

    # the directory, without the server's CA: refused ("" is SSL_CERT_FILE unset)
    refused = scan(SSL_CERT_FILE="")
    assert refused.returncode == 1 and "does not verify" in refused.stderr, refused.stderr
    # a bundle of its own in SSL_CERT_FILE is read, directory or not
    assert scan(SSL_CERT_FILE=str(server_ca)).returncode == 0
    # the server's CA in the directory, by its hash: trusted from there
    _hashed(certs, server_ca)
    trusted = scan(SSL_CERT_FILE="")
    assert trusted.returncode == 0, trusted.stderr
