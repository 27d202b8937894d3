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


# -- init --------------------------------------------------------------------------------


def _env(tmp_path: Path) -> dict[str, str]:
    return {"XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}


def test_init_with_every_option_asks_nothing(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("not checked here\n")
    path = tmp_path / "c.toml"
    result = run(
        "init", "--config", str(path), "--name", 'Zoë "Z" Müller', "--email", "Me@Example.org",
        "--host", "imap.example.org", "--port", "1993", "--security", "starttls",
        "--username", "me-login", "--ca-file", str(ca), "--timezone", "Europe/Berlin",
        env=_env(tmp_path), input="",
    )  # fmt: skip
    assert result.exit_code == 0, result.output + result.stderr
    assert result.output.splitlines()[0] == f"wrote {path}"  # no question before it
    assert len(result.output.splitlines()) == 2
    assert path.stat().st_mode & 0o777 == 0o600
    config = cfg.load(str(path))
    assert config.account is not None
    assert (config.account.host, config.account.port) == ("imap.example.org", 1993)
    assert (config.account.security, config.account.username) == ("starttls", "me-login")
    assert config.account.ca_file == ca
    assert config.me.name == 'Zoë "Z" Müller' and config.me.addresses == ("me@example.org",)
    assert config.rules.timezone == "Europe/Berlin"
    assert config.commands.address and config.commands.address.startswith("me+mailer-")
    assert "config.example.toml" not in path.read_text()


def test_init_with_email_and_host_takes_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mailer.config import localzone

    monkeypatch.setattr(localzone, "system_timezone", lambda: "America/Chicago")
    path = tmp_path / "c.toml"
    result = run("init", "--email", "a@x.org", "--host", "imap.x.org", "--config", str(path))
    assert result.exit_code == 0, result.stderr
    config = cfg.load(str(path))
    assert config.account is not None
    assert (config.account.port, config.account.security) == (993, "tls")
    assert config.account.username == "a@x.org" and config.account.ca_file is None
    assert config.rules.timezone == "America/Chicago"


def test_init_asks_and_asks_again_after_a_wrong_answer(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    answers = [
        "Pat Doe",  # name
        "me@x.org",  # email
        "imap.x.org:143",  # host with a port: asked again
        "imap.x.org",
        "starttls",  # security
        "",  # port: the default for starttls, 143
        "",  # login: the email
        str(tmp_path / "missing.pem"),  # not there: asked again
        "",  # no CA file
        "Mars/Olympus",  # not a zone: asked again
        "Asia/Tokyo",
    ]
    result = run("init", "--config", str(path), input="\n".join(answers) + "\n")
    assert result.exit_code == 0, result.output + result.stderr
    assert "has a port in it" in result.output and "the port is next" in result.output
    assert "does not exist" in result.output and "unknown time zone" in result.output
    config = cfg.load(str(path))
    assert config.account is not None
    assert (config.account.host, config.account.port) == ("imap.x.org", 143)
    assert config.account.username == "me@x.org" and config.account.ca_file is None
    assert (config.me.name, config.rules.timezone) == ("Pat Doe", "Asia/Tokyo")


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (("--host", "imap.x.org:993"), ("use --host imap.x.org --port 993",)),
        (("--host", "[::1]:993"), ("use --host [::1] --port 993",)),
        (("--host", "imap.x.org", "--security", "none"), ("plain text", "loopback")),
        (("--host", "imap.x.org", "--timezone", "Berlin"), ("unknown time zone 'Berlin'",)),
        (("--host", "imap.x.org", "--ca-file", "/no/such.pem"), ("does not exist",)),
        (("--host", "imap.x.org", "--port", "99999"), ("--port", "--help")),
    ],
)
def test_init_refuses_a_wrong_option_in_one_line(
    tmp_path: Path, args: tuple[str, ...], needles: tuple[str, ...]
) -> None:
    path = tmp_path / "c.toml"
    result = run("init", "--config", str(path), "--email", "a@x.org", *args)
    if "--port" in args and "99999" in args:  # click's own check: main() makes it one line
        assert result.exit_code == 2 and "99999" in result.stderr
    else:
        one_line_error(result, 2, *needles)
    assert not path.exists()


def test_init_plain_text_to_loopback_and_a_bare_ipv6_host(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    result = run("init", "--config", str(path), "--email", "a@x.org", "--host", "::1",
                 "--security", "none")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    config = cfg.load(str(path))
    assert config.account is not None
    assert (config.account.host, config.account.port) == ("::1", 143)


@pytest.mark.parametrize(
    ("environ", "files", "expected"),
    [
        ({"TZ": "Europe/Lisbon"}, {}, "Europe/Lisbon"),
        ({"TZ": ":/usr/share/zoneinfo/Asia/Tokyo"}, {}, "Asia/Tokyo"),
        ({"TZ": "CET-1CEST"}, {"timezone": "Europe/Paris\n"}, "Europe/Paris"),
        ({}, {"localtime": "/usr/share/zoneinfo/America/New_York"}, "America/New_York"),
        ({}, {"localtime": "/usr/share/zoneinfo/Etc/UTC"}, "UTC"),
        ({}, {"timezone": "Not/AZone\n"}, "UTC"),
        ({}, {}, "UTC"),
    ],
)
def test_system_timezone(
    tmp_path: Path, environ: dict[str, str], files: dict[str, str], expected: str
) -> None:
    from mailer.config.localzone import system_timezone

    for name, content in files.items():
        if name == "localtime":
            (tmp_path / name).symlink_to(content)
        else:
            (tmp_path / name).write_text(content)
    assert system_timezone(environ, etc=tmp_path) == expected


# -- init --systemd ----------------------------------------------------------------------


def test_init_systemd_writes_a_unit_running_this_mailer_on_this_config(tmp_path: Path) -> None:
    import shlex
    import sys

    path, unit = tmp_path / "conf" / "c.toml", tmp_path / "units" / "mailer.service"
    env = _env(tmp_path)
    args = ("init", "--config", str(path), "--email", "a@x.org", "--host", "imap.x.org")
    result = run(*args, "--systemd", "--unit", str(unit), env=env)
    assert result.exit_code == 0, result.stderr
    assert path.exists() and unit.exists()
    lines = unit.read_text().splitlines()
    exec_start = next(line for line in lines if line.startswith("ExecStart="))
    # pytest is not a `mailer` script: this interpreter with -m mailer
    command = [sys.executable, "-m", "mailer", "--config", str(path), "run"]
    assert shlex.split(exec_start.partition("=")[2]) == command
    store_dir = cfg.load(str(path)).store.path.parent
    assert f"ReadWritePaths={store_dir}" in lines and store_dir.is_dir()
    assert "[Install]" in lines and "WantedBy=default.target" in lines

    # Again: the config is kept (not asked for), the unit is not overwritten without --force.
    before = path.read_text()
    one_line_error(run(*args, "--systemd", "--unit", str(unit), env=env), 2, "exists", "--force")
    again = run(
        "init", "--config", str(path), "--systemd", "--unit", str(unit), "--force", input=""
    )
    assert again.exit_code == 0, again.stderr
    assert path.read_text() == before


def test_init_systemd_default_unit_path_is_the_xdg_user_unit_dir(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    result = run("init", "--config", str(path), "--email", "a@x.org", "--host", "h.x.org",
                 "--systemd", env=_env(tmp_path))  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "xdg" / "systemd" / "user" / "mailer.service").exists()


def test_the_unit_runs_the_mailer_script_it_was_started_as(tmp_path: Path) -> None:
    from mailer.config import unit

    script = tmp_path / "bin" / "mailer"
    script.parent.mkdir()
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    assert unit.mailer_command(str(script), "/py") == [str(script)]
    assert unit.mailer_command(str(tmp_path / "x" / "__main__.py"), "/py") == [
        "/py",
        "-m",
        "mailer",
    ]
    assert unit.quote("/home/a b/%h$x") == '"/home/a b/%%h$$x"'
    assert unit.quote("/plain/path.toml") == "/plain/path.toml"
    text = unit.render(["/my env/bin/mailer"], Path("/c 1.toml"), ["/s", "-/maildir x"])
    assert 'ExecStart="/my env/bin/mailer" --config "/c 1.toml" run' in text.splitlines()
    assert 'ReadWritePaths=/s -"/maildir x"' in text.splitlines()
