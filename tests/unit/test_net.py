"""When the system's CAs are read from OpenSSL's hashed directory (mailer.net)."""

from __future__ import annotations

import shutil
import ssl
from pathlib import Path

import pytest

from mailer import net


@pytest.fixture
def paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A system whose bundle is tmp/bundle.pem and whose CA directory is tmp/certs."""
    bundle, certs = tmp_path / "bundle.pem", tmp_path / "certs"
    bundle.write_text("")
    certs.mkdir()
    (certs / "bundle-link.pem").symlink_to(bundle)
    default = ssl.DefaultVerifyPaths(
        str(bundle), str(certs), "SSL_CERT_FILE", str(bundle), "SSL_CERT_DIR", str(certs)
    )
    monkeypatch.setattr(ssl, "get_default_verify_paths", lambda: default)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    return certs


def test_a_directory_of_hashed_names_is_read(paths: Path) -> None:
    assert net.hashed_ca_dir() is None  # a bundle only, as Fedora keeps it
    (paths / "README").write_text("")
    (paths / "5ad8a5d6.x").write_text("")
    assert net.hashed_ca_dir() is None
    (paths / "5ad8a5d6.0").symlink_to(paths / "bundle-link.pem")
    assert net.hashed_ca_dir() == str(paths)


def test_a_bundle_named_in_ssl_cert_file_is_read_unless_it_is_the_systems(
    paths: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (paths / "5ad8a5d6.0").write_text("")
    monkeypatch.setenv("SSL_CERT_FILE", str(paths / "bundle-link.pem"))  # the system's
    assert net.hashed_ca_dir() == str(paths)
    monkeypatch.setenv("SSL_CERT_FILE", str(paths / "5ad8a5d6.0"))  # another bundle
    assert net.hashed_ca_dir() is None


def test_a_missing_directory_is_the_default_context(paths: Path) -> None:
    shutil.rmtree(paths)  # os.scandir fails: no reason to fail, the bundle is read
    assert net.hashed_ca_dir() is None
    context = net.tls_context(None, "account.ca_file")
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
