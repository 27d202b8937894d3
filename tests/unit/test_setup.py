"""Setting up: `mailer init`, `mailer config show|path|example`, the shipped files.

Through click's CliRunner, so no process is started; `mailer check` against
real servers and `systemd-analyze verify` are in tests/system/test_setup.py.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from mailer import config as cfg
from mailer.cli import cli, global_options_first
from mailer.config import shipped

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Result:
    """The command as `mailer.cli.main` runs it (global options moved to the front)."""
    args_ = global_options_first(list(args))
    return CliRunner().invoke(cli, args_, env=env, input=input, prog_name="mailer")


def one_line_error(result: Result, code: int, *needles: str) -> str:
    assert result.exit_code == code, (result.output, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mailer: error: "), result.stderr
    for needle in needles:
        assert needle in lines[0]
    return lines[0]


# -- the shipped files -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "checkout"),
    [(shipped.EXAMPLE, "config.example.toml"), (shipped.UNIT, "contrib/mailer.service")],
)
def test_the_shipped_copies_are_the_checkouts_files(name: str, checkout: str) -> None:
    assert shipped.text(name) == (ROOT / checkout).read_text(), (
        f"mailer/data/{name} differs from {checkout}: edit {checkout}, then"
        f" cp {checkout} mailer/data/{name}"
    )


def test_config_example_prints_the_shipped_example() -> None:
    result = run("config", "example")
    assert result.exit_code == 0
    assert result.output == (ROOT / "config.example.toml").read_text()


# -- config path and show ----------------------------------------------------------------


def test_config_path_is_option_then_env_then_xdg(tmp_path: Path) -> None:
    env = {"MAILER_CONFIG": str(tmp_path / "env.toml"), "XDG_CONFIG_HOME": str(tmp_path / "x")}
    assert run("config", "path", env=env).output == f"{tmp_path / 'env.toml'}\n"
    given = run("config", "path", "--config", str(tmp_path / "opt.toml"), env=env)
    assert given.output == f"{tmp_path / 'opt.toml'}\n"
    before = run("--config", str(tmp_path / "opt.toml"), "config", "path", env=env)
    assert before.output == given.output
    xdg = run("config", "path", env={"MAILER_CONFIG": "", "XDG_CONFIG_HOME": str(tmp_path / "x")})
    assert xdg.output == f"{tmp_path / 'x' / 'mailer' / 'config.toml'}\n"


SECRETS = """\
[account]
host = "imap.x.org"
username = "me@x.org"
password_env = "MY_IMAP_PASSWORD"
password_command = "echo hunter2"
oauth2_token_command = "token --secret s3cr3t"

[smtp]
host = "smtp.x.org"
password_command = "printf topsecret"

[me]
addresses = ["me@x.org"]

[commands]
address = "me+mailer-k3x9q2@x.org"

[rules.tiers]
vip = "14d"
"""


@pytest.fixture
def secret_config(tmp_path: Path) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(SECRETS)
    return path


def test_config_show_json_has_every_key_with_its_source(secret_config: Path) -> None:
    result = run("config", "show", "--format", "json", "--config", str(secret_config))
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["path"] == str(secret_config)
    keys = shown["keys"]
    assert list(keys) == [k.path for k in cfg.KEYS]
    assert keys["account.host"] == {"value": "imap.x.org", "source": "file"}
    assert keys["account.port"] == {"value": 993, "source": "default"}
    assert keys["rules.default_cadence"] == {"value": "90d", "source": "default"}
    assert keys["rules.tiers"] == {"value": {"vip": "14d"}, "source": "file"}
    assert keys["folders.sent"]["value"] is None
    assert keys["commands.allowed_senders"]["value"] == ["me@x.org"]


def test_config_show_never_prints_a_secret(secret_config: Path) -> None:
    for fmt in ("table", "json"):
        out = run("config", "show", "--format", fmt, "--config", str(secret_config)).output
        for secret in ("hunter2", "s3cr3t", "topsecret", "k3x9q2"):
            assert secret not in out, (fmt, secret)
        assert "MY_IMAP_PASSWORD" in out  # the variable's name, not its value
    shown = run("config", "show", "--format", "json", "--config", str(secret_config)).output
    keys = json.loads(shown)["keys"]
    assert keys["account.password_command"]["value"] == "<set>"
    assert keys["commands.address"]["value"] == "<set>"
    assert keys["smtp.keyring"]["value"] is False
    assert keys["account.keyring"]["value"] is False


def test_config_show_table_is_one_line_per_key(secret_config: Path) -> None:
    lines = run("config", "show", "--config", str(secret_config)).output.splitlines()
    assert lines[0] == f"# {secret_config}"
    assert [line.partition(" = ")[0] for line in lines[1:]] == [k.path for k in cfg.KEYS]
    assert 'account.host = "imap.x.org"' in lines
    assert "account.timeout = 60  # default" in lines
    assert "account.password_command = <set>" in lines
    assert "folders.sent = <unset>  # default" in lines


def test_config_show_of_a_wrong_file_is_the_usual_one_line(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[account]\nhots = "x"\n')
    one_line_error(run("config", "show", "--config", str(path)), 2, "account.hots: unknown key")
    one_line_error(run("config", "show", "--config", str(tmp_path / "no.toml")), 2, "mailer init")


def _loads(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text())
