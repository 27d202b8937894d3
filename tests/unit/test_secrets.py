"""No secret value in an error: a conventional variable name is still named.

The CLI tests are in tests/system/test_secrets.py.
"""

from __future__ import annotations

import pytest

from mailer import config as cfg
from mailer import credentials
from mailer.errors import ConfigError


def _account(**kw: object) -> cfg.Account:
    data = {"account": {"host": "h", "username": "u", **kw}, "me": {"addresses": ["a@b.c"]}}
    account = cfg.from_dict(data).account
    assert account is not None
    return account


def test_a_conventional_variable_name_is_still_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MY_MAIL_PASSWORD", raising=False)
    with pytest.raises(ConfigError, match="the environment variable MY_MAIL_PASSWORD is not set"):
        credentials.password(_account(password_env="MY_MAIL_PASSWORD"))
