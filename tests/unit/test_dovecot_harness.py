"""The skip-or-fail rule of the test harness (tests/support/servers.py).

The Dovecot harness itself is checked in tests/system/test_dovecot_harness.py.
"""

from __future__ import annotations

import pytest

from tests.support.servers import require_or_skip


def test_require_or_skip_follows_the_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILER_REQUIRE_SERVERS", "1")
    with pytest.raises(pytest.fail.Exception):
        require_or_skip("nothing here")
    monkeypatch.setenv("MAILER_REQUIRE_SERVERS", "0")
    with pytest.raises(pytest.skip.Exception):
        require_or_skip("nothing here")
