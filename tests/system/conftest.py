"""Fixtures for outside things: a real Dovecot, a fresh IMAP user per test, the corpus.

Tests that need outside things (Dovecot, the shared real-mail corpus) skip
when they are missing, so a laptop without them still runs the rest. CI sets
``MAILER_REQUIRE_SERVERS=1`` so the same absence fails instead: a broken CI
image must not pass by skipping everything (tests/support/servers.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.dovecot import Dovecot, ImapUser, ServerUnavailable
from tests.support.servers import require_or_skip

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CORPUS_DIR = PROJECT_ROOT.parent / "shared" / "corpus"


def _started(server: Dovecot) -> Dovecot:
    try:
        return server.start()
    except ServerUnavailable as e:
        server.close()
        require_or_skip(str(e))


def _running() -> Iterator[Dovecot]:
    server = _started(Dovecot())
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """One Dovecot for the whole session; tests keep apart by using their own users."""
    yield from _running()


@pytest.fixture
def private_dovecot() -> Iterator[Dovecot]:
    """A Dovecot of the test's own, for tests that stop, kill or restart the server."""
    yield from _running()


@pytest.fixture
def imap_user(dovecot: Dovecot) -> ImapUser:
    """A new user with an empty mailbox on the session server."""
    return dovecot.new_account()


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The shared real-mail corpus (``../shared/corpus`` beside the project)."""
    if not CORPUS_DIR.is_dir():
        require_or_skip(f"shared mail corpus not found at {CORPUS_DIR}")
    return CORPUS_DIR
