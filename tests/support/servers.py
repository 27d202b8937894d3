"""Skip for a missing outside dependency, or fail in CI.

Tests that need outside things (Dovecot, an SMTP server, the shared real-mail
corpus) skip when they are missing, so a laptop without them still runs the
rest. CI sets ``MAILER_REQUIRE_SERVERS=1`` so the same absence fails instead:
a broken CI image must not pass by skipping everything.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def servers_required() -> bool:
    return os.environ.get("MAILER_REQUIRE_SERVERS") == "1"


def require_or_skip(reason: str) -> NoReturn:
    """Skip for a missing outside dependency, or fail when MAILER_REQUIRE_SERVERS=1."""
    if servers_required():
        pytest.fail(f"{reason} (MAILER_REQUIRE_SERVERS=1)", pytrace=False)
    pytest.skip(reason)
