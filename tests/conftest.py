"""Settings for the whole suite; the fixtures live beside the tests that use them.

tests/system/conftest.py has the outside things (a real Dovecot for the
session, a fresh IMAP user per test, the corpus), and with them the
MAILER_REQUIRE_SERVERS rule (tests/support/servers.py): a missing outside
dependency skips on a laptop and fails in CI. tests/unit/conftest.py makes a
unit test fail if it starts Dovecot, a subprocess or a forked child.
"""

from __future__ import annotations

import os

from hypothesis import settings

# CI explores the same examples every run (a red CI must be reproducible);
# a developer's run explores new ones and keeps failures in .hypothesis/.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
