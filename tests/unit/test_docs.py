"""The README stays true: every command has help text and is documented there."""

from __future__ import annotations

import tomllib
from pathlib import Path

import click

from mailer.cli import cli

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def _commands(group: click.Group, prefix: str = "mailer") -> list[tuple[str, click.Command]]:
    out = []
    for name, cmd in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        if isinstance(cmd, click.Group):
            out += _commands(cmd, path)
        else:
            out.append((path, cmd))
    return out


def test_every_command_has_help_and_is_in_the_readme() -> None:
    commands = _commands(cli)
    assert len(commands) >= 12
    for path, cmd in commands:
        assert (cmd.help or "").strip(), f"{path} has no help text"
        assert f"`{path}" in README, f"{path} is not documented in README.md"
        for param in cmd.params:
            if isinstance(param, click.Option):
                assert param.help or param.hidden, f"{path} {param.opts} has no help"


def test_every_package_of_mailer_is_installed() -> None:
    # A package missing from pyproject's list works in an editable install and
    # is absent from a wheel: `pip install .` would give a mailer without it.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(project["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "mailer").rglob("__init__.py")
    }
    assert found <= listed, sorted(found - listed)
