"""Release hygiene: the pins, the license, and the one private API of a dependency mailer uses.

A dependency upgrade must fail here, naming what changed, rather than make
mailer quietly slower or wrong (imapclient's `_imap`), and the pins the test
venv is built from must cover what pyproject.toml asks for.
"""

from __future__ import annotations

import imaplib
import re
import socket
import tomllib
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _pins() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"([A-Za-z0-9._-]+)==(\S+)", line)
        assert m, f"constraints.txt: {line!r} is not name==version"
        name = canonicalize_name(m[1])
        assert name not in pins, f"constraints.txt pins {m[1]} twice"
        pins[name] = Version(m[2])
    return pins


def _named() -> list[Requirement]:
    extras = [r for reqs in PROJECT["optional-dependencies"].values() for r in reqs]
    return [Requirement(r) for r in PROJECT["dependencies"] + extras]


def test_constraints_pin_every_dependency_at_a_version_pyproject_allows() -> None:
    pins = _pins()
    for req in _named():
        name = canonicalize_name(req.name)
        assert name in pins, f"constraints.txt does not pin {req.name} (named in pyproject.toml)"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"constraints.txt pins {req.name}=={pins[name]}, outside pyproject's {req}"
        )


def test_the_installed_dependencies_are_the_pinned_ones() -> None:
    # Run in the venv `make venv` built: a drifted pin would test one set and ship another.
    pins = _pins()
    for req in _named():
        try:
            installed = Version(metadata.version(req.name))
        except metadata.PackageNotFoundError:
            continue  # an extra not installed here (keyring)
        pinned = pins[canonicalize_name(req.name)]
        if installed != pinned:
            pytest.skip(f"{req.name} {installed} installed, {pinned} pinned: not a `make venv`")


def test_license_is_the_mit_license_pyproject_names() -> None:
    text = (ROOT / "LICENSE").read_text()
    assert PROJECT["license"] == "MIT"
    assert text.startswith("MIT License") and "Copyright (c) " in text
    assert "the mailer authors" in text


# -- imapclient's private `_imap` --------------------------------------------------------

# What mailer.sources.imap reads from IMAPClient._imap (imaplib's IMAP4 under it).
USED = {
    "fetch": "_fetch_range and _uids_at: the header FETCH, 3x faster than IMAPClient.fetch",
    "xatom": "_esearch_min: SEARCH RETURN (MIN), one round trip instead of probing",
    "response": "_esearch_min: reading the ESEARCH answer",
}


class ScriptedSocket:
    """A socket with a scripted IMAP server behind it, so IMAPClient can be built
    without a network: every tagged command is answered OK, FETCH and SEARCH with
    one line each as a server would."""

    def __init__(self) -> None:
        self.incoming = bytearray(b"* OK [CAPABILITY IMAP4rev1 ESEARCH] ready\r\n")

    def sendall(self, data: bytes) -> None:
        tag, _, command = data.rstrip(b"\r\n").partition(b" ")
        if command.startswith(b"CAPABILITY"):
            self.incoming += b"* CAPABILITY IMAP4rev1 ESEARCH\r\n"
        elif command.startswith(b"FETCH"):
            self.incoming += b"* 1 FETCH (UID 41)\r\n* 2 FETCH (UID 42)\r\n"
        elif command.startswith(b"SEARCH"):
            self.incoming += b'* ESEARCH (TAG "' + tag + b'") UID MIN 2\r\n'
        self.incoming += tag + b" OK done\r\n"

    def makefile(self, mode: str) -> ScriptedSocket:
        return self

    def readline(self, limit: int = -1) -> bytes:
        end = self.incoming.find(b"\n") + 1 or len(self.incoming)
        line = bytes(self.incoming[:end])
        del self.incoming[:end]
        return line

    def read(self, size: int) -> bytes:
        data = bytes(self.incoming[:size])
        del self.incoming[:size]
        return data

    def settimeout(self, timeout: float | None) -> None:
        pass

    def shutdown(self, how: int) -> None:
        pass

    def close(self) -> None:
        pass


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Any:
    from imapclient import IMAPClient

    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: ScriptedSocket())
    return IMAPClient("imap.invalid", port=143, ssl=False, timeout=5)


def _changed(what: str) -> str:
    version = metadata.version("imapclient")
    return (
        f"imapclient {version}: {what}. mailer.sources.imap reads IMAPClient._imap (imaplib's"
        " connection) and falls back to slower public calls without it; adapt"
        " mailer/sources/imap.py to this imapclient, or pin the last one that works"
    )


def test_imapclient_keeps_imaplibs_connection_in_underscore_imap(client: Any) -> None:
    imap = getattr(client, "_imap", None)
    assert imap is not None, _changed("an IMAPClient has no `_imap` any more")
    assert isinstance(imap, imaplib.IMAP4), _changed(
        f"IMAPClient._imap is a {type(imap).__name__}, not an imaplib.IMAP4"
    )
    for name, why in USED.items():
        assert callable(getattr(imap, name, None)), _changed(f"_imap has no {name}() ({why})")
    assert hasattr(imap, "debug"), _changed("_imap has no `debug` (ImapSource._adopt sets it 0)")


def test_underscore_imap_answers_as_mailer_reads_it(client: Any) -> None:
    from mailer.sources.imap import _ESEARCH_MIN, _SEQ_UID

    imap = client._imap
    imap.state = "SELECTED"  # as after LOGIN and SELECT, which the script would answer OK too
    typ, data = imap.fetch("1:2", "(UID)")
    assert typ == "OK", _changed(f"_imap.fetch returned {typ!r}")
    uids = [_SEQ_UID.match(d if isinstance(d, bytes) else d[0]) for d in data]
    assert [m and (m[1], m[2]) for m in uids] == [(b"1", b"41"), (b"2", b"42")], _changed(
        f"_imap.fetch returned {data!r}"
    )
    typ, _ = imap.xatom("SEARCH", "RETURN", "(MIN)", "UID", "42:*")
    _, answers = imap.response("ESEARCH")
    assert typ == "OK" and _ESEARCH_MIN.search(answers[-1]), _changed(
        f"_imap.xatom/response gave {typ!r}, {answers!r}"
    )
