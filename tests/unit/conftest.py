"""Unit tests start no server and no process: each that tries fails, naming what it started.

The fixtures for Dovecot, SMTP and the corpus are in tests/system/conftest.py,
so a unit test asking for one is an error at setup; this catches the rest
(a `python -m mailer` subprocess, a forked child, a Dovecot started by hand).
Such a test belongs in tests/system.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.dovecot import Dovecot


def _refuse(what: str) -> Any:
    def refused(*args: object, **kwargs: object) -> None:
        pytest.fail(f"a unit test started {what}; it belongs in tests/system", pytrace=False)

    return refused


@pytest.fixture(autouse=True)
def _no_server_no_subprocess(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(subprocess.Popen, "__init__", _refuse("a subprocess"))
    monkeypatch.setattr(os, "fork", _refuse("a forked child"))
    monkeypatch.setattr(os, "posix_spawn", _refuse("a process (posix_spawn)"))
    monkeypatch.setattr(Dovecot, "start", _refuse("Dovecot"))
    yield
