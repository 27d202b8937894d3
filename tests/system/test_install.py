"""A fresh `pip install .` into an empty venv, used as a new user would: `mailer
init` answered, `mailer config show`, `mailer init --systemd` (verified by
systemd-analyze where it is installed), and completion for three shells. The
installed package must carry everything (templates, the example config, the
unit): a file missing from the package list or its data fails here, where an
editable install would hide it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str | Path, env: dict[str, str], stdin: str | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.slow
def test_a_fresh_install_sets_itself_up(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv, env=dict(os.environ))
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "HOME": str(home),
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local/share"),
        "TZ": "Europe/Berlin",
        "LANG": "C.UTF-8",
    }
    # this machine's way to its packages (a mirror, certificates), if it has one
    env.update({k: v for k, v in os.environ.items() if k.startswith("PIP_")})
    source = tmp_path / "src"  # a copy: the build must not write into the checkout
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(".venv", ".git", "demo-out", "*.egg-info", "__pycache__"),
    )
    pip = venv / "bin" / "pip"
    run(pip, "install", "--quiet", "-c", source / "constraints.txt", source, env=env)
    mailer = venv / "bin" / "mailer"

    # init, answered as a person at the prompts would (name, email, host, the rest defaults)
    answers = "Pat Doe\npat@example.org\nimap.example.org\n\n\n\n\n\n"
    out = run(mailer, "init", env=env, stdin=answers)
    config = home / ".config" / "mailer" / "config.toml"
    assert config.exists() and oct(config.stat().st_mode & 0o777) == "0o600", out
    shown = json.loads(run(mailer, "config", "show", "--format", "json", env=env))
    keys = shown["keys"]
    assert keys["account.host"]["value"] == "imap.example.org"
    assert keys["rules.timezone"]["value"] == "Europe/Berlin"
    assert keys["me.name"]["value"] == "Pat Doe"
    assert "# " in run(mailer, "config", "example", env=env)  # the packaged example ships

    unit = home / "mailer.service"
    run(mailer, "init", "--systemd", "--unit", unit, env=env)
    text = unit.read_text()
    assert f"ExecStart={mailer} --config {config}" in text.replace('"', ""), text
    analyze = shutil.which("systemd-analyze")
    if analyze:  # tests/system/test_setup.py requires it in CI
        run(analyze, "verify", "--man=no", unit, env={**env, "PATH": env["PATH"] + ":/usr/sbin"})

    for shell, marker in (("bash", "complete "), ("zsh", "compdef"), ("fish", "complete ")):
        script = run(mailer, env={**env, "_MAILER_COMPLETE": f"{shell}_source"})
        assert marker in script and "_MAILER_COMPLETE" in script, (shell, script[:200])
