"""Config: where the password comes from, with a password command run as a subprocess.

The rest of the config tests are in tests/unit/test_config.py.
"""

from __future__ import annotations

import pytest

from mailer import config as cfg
from mailer import credentials
from mailer.errors import ConfigError


def _account(**kw: object) -> cfg.Account:
    base = {"account": {"host": "h", "username": "u", **kw}, "me": {"addresses": ["a@b.c"]}}
    account = cfg.from_dict(base).account
    assert account is not None
    return account


def test_password_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILER_PASSWORD", "from-env")
    assert credentials.password(_account()) == "from-env"
    assert credentials.password(_account(password_command="echo from-command")) == "from-command"
    monkeypatch.delenv("MAILER_PASSWORD")
    with pytest.raises(ConfigError, match="MAILER_PASSWORD is not set"):
        credentials.password(_account())
    with pytest.raises(ConfigError, match="exit code 3"):
        credentials.password(_account(password_command="sh -c 'exit 3'"))
    with pytest.raises(ConfigError, match="cannot run"):
        credentials.password(_account(password_command="/no/such/program"))
