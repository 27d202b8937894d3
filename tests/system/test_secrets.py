"""No secret value in any error, log or status line.

A password pasted into the wrong key (`password_env = "hunter2"`, or as the
password command) or printed by a failing command must not reach the one-line
error, the daemon's log, `mailer status` or its JSON. No server is needed: the
password is looked up before any connection is made.
"""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mailer import config as cfg
from mailer import credentials
from mailer.errors import ConfigError
from mailer.model import Contact
from mailer.store import Store
from tests.support.scanhelp import mailer, write_config
from tests.unit.test_secrets import _account

# Letters and digits only, so it is a valid variable name: the config takes it.
PASTED = "correcthorse42battery"
# Not a variable name: the config refuses it, without showing it.
PASTED_WITH_SYMBOLS = "Tr0ub4dor&3!x"
ENV = {"MAILER_NOW": "2026-03-04T09:00:00Z"}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(tmp_path: Path, account: dict[str, Any], **sections: dict[str, Any]) -> Path:
    base = {"host": "127.0.0.1", "port": _closed_port(), "username": "me@example.org"}
    return write_config(tmp_path, None, account={**base, **account}, **sections)


def _one_line(out: subprocess.CompletedProcess[str], code: int, *needles: str) -> str:
    err = out.stderr.strip()
    assert out.returncode == code, (out.returncode, out.stdout, out.stderr)
    assert "\n" not in err and "Traceback" not in err and err.startswith("mailer: error:"), err
    for needle in needles:
        assert needle in err, err
    return err


def _nowhere(secret: str, *outputs: subprocess.CompletedProcess[str]) -> None:
    for out in outputs:
        assert secret not in out.stdout and secret not in out.stderr, (out.stdout, out.stderr)
        assert secret.lower() not in (out.stdout + out.stderr).lower()


def test_a_password_in_password_env_is_in_no_error_log_or_status(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        {"password_env": PASTED},
        smtp={"host": "127.0.0.1", "port": _closed_port(), "security": "none",
              "username": "me@example.org", "password_env": PASTED},
        digest={"delivery": "smtp"},
    )  # fmt: skip
    long_ago = "2025-06-01T09:00:00Z"  # someone due, so that there is a digest to send
    Store(tmp_path / "mailer.json").add_contact(
        Contact("ann@x.org", status="active", last_inbound=long_ago, last_outbound=long_ago)
    )
    scan = mailer(config, "scan", env=ENV)
    _one_line(scan, 2, "account.password_env", "is not set")
    digest = mailer(config, "digest", "run", env=ENV)
    _one_line(digest, 2, "smtp.password_env", "is not set")

    daemon = mailer(config, "run", "--once", env=ENV)  # logs each job's failure to stderr
    assert daemon.returncode == 2 and "account.password_env" in daemon.stderr, daemon.stderr
    status = mailer(config, "status", env=ENV)
    assert status.returncode == 0 and "account.password_env" in status.stdout, status.stderr
    status_json = mailer(config, "status", "--format", "json", env=ENV)
    jobs = json.loads(status_json.stdout)["jobs"]
    assert "account.password_env" in jobs["scan"]["last_error"]
    _nowhere(PASTED, scan, digest, daemon, status, status_json)


def test_a_password_that_is_no_variable_name_is_refused_without_showing_it(
    tmp_path: Path,
) -> None:
    config = _config(tmp_path, {"password_env": PASTED_WITH_SYMBOLS})
    out = mailer(config, "contacts", "list", env=ENV)
    _one_line(out, 2, "account.password_env: expected the name of an environment variable")
    _nowhere(PASTED_WITH_SYMBOLS, out)
    smtp = {"host": "smtp.example.org", "password_env": PASTED_WITH_SYMBOLS}
    config = _config(tmp_path, {}, smtp=smtp)
    out = mailer(config, "status", env=ENV)
    _one_line(out, 2, "smtp.password_env: expected the name of an environment variable")
    _nowhere(PASTED_WITH_SYMBOLS, out)
    for key in ("password_env", "password_command", "oauth2_token_command"):
        with pytest.raises(ConfigError) as err:  # a PIN pasted as a number
            cfg.from_dict({"account": {"host": "h", "username": "u", key: 123456789},
                           "me": {"addresses": ["a@b.c"]}})  # fmt: skip
        assert f"account.{key}: expected" in str(err.value) and "123456789" not in str(err.value)


def test_password_command_errors_carry_no_password(tmp_path: Path) -> None:
    # The password pasted as the command: not a program, and not quoted back.
    with pytest.raises(ConfigError) as err:
        credentials.password(_account(password_command=PASTED))
    assert "account.password_command cannot run" in str(err.value)
    assert PASTED not in str(err.value)
    # A command that prints the password, then fails saying it again on stderr.
    script = tmp_path / "leaky.sh"
    script.write_text(f"#!/bin/sh\necho {PASTED}\necho 'bad token {PASTED} for me' >&2\nexit 3\n")
    script.chmod(0o700)
    with pytest.raises(ConfigError) as err:
        credentials.password(_account(password_command=str(script)))
    assert "exit code 3: bad token [...] for me" in str(err.value)
    assert PASTED not in str(err.value)
    with pytest.raises(ConfigError) as err:
        credentials.oauth2_token(_account(oauth2_token_command=str(script)))
    assert PASTED not in str(err.value) and "account.oauth2_token_command" in str(err.value)
