"""Shell completion: the scripts for bash, zsh and fish, and the callbacks that complete
contacts and tiers, which must never fail or print, whatever the config and store."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from mailer.cli import cli, completion


def complete(words: str, env: dict[str, str] | None = None) -> list[str]:
    """What bash would be offered after `words` (the last one is being typed)."""
    parts = words.split(" ")
    result = CliRunner().invoke(
        cli,
        [],
        prog_name="mailer",
        env={
            "_MAILER_COMPLETE": "bash_complete",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(parts) - 1),
            **(env or {}),
        },
    )
    assert result.exit_code == 0 and not result.stderr, result.output + result.stderr
    return [line.partition(",")[2] for line in result.output.splitlines() if line]


@pytest.mark.parametrize(
    ("shell", "marker"),
    [("bash", "complete -o"), ("zsh", "compdef"), ("fish", "complete --no-files --command mailer")],
)
def test_each_shell_gets_its_script(
    shell: str, marker: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.shell_completion import BashComplete

    # click asks the installed bash its version in a subprocess: not in a unit test
    monkeypatch.setattr(BashComplete, "_check_version", lambda self: None, raising=False)
    result = CliRunner().invoke(
        cli, [], prog_name="mailer", env={"_MAILER_COMPLETE": f"{shell}_source"}
    )
    assert result.exit_code == 0
    assert marker in result.output and "_MAILER_COMPLETE" in result.output


@pytest.fixture
def config(tmp_path: Path) -> Path:
    from mailer.model import Contact
    from mailer.store import Store

    store = Store(tmp_path / "mailer.json")
    people = [
        Contact("jose@alvarez.example", name="José Álvarez", aliases=("pepe@home.example",)),
        Contact("anna@a.example", name="Anna Berg"),
        Contact("ak@k.example", name="Anna Kim"),
    ]
    store.update_contacts(lambda _: people)
    path = tmp_path / "c.toml"
    lines = [
        "[me]",
        'addresses = ["me@x.org"]',
        "[store]",
        f"path = {json.dumps(str(tmp_path / 'mailer.json'))}",
        "[rules.tiers]",
        'vip = "14d"',
        'inner = "30d"',
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_contacts_complete_from_the_store(config: Path) -> None:
    assert complete(f"mailer --config {config} contacts show an") == [
        "anna@a.example",
        "Anna Berg",
        "Anna Kim",
    ]  # addresses first, then names, each sorted
    assert complete(f"mailer --config {config} contacts show jo") == [
        "jose@alvarez.example",
        "José Álvarez",
    ]
    assert complete(f"mailer --config {config} contacts show alv") == ["José Álvarez"]
    assert complete(f"mailer --config {config} intro ask anna@a.example pe") == [
        "pepe@home.example"
    ]
    assert len(complete(f"mailer --config {config} drafts preview ")) == 4  # every address
    assert complete(f"mailer --config {config} seed --set ak") == ["ak@k.example"]


def test_tiers_complete_from_the_config(config: Path) -> None:
    assert complete(f"mailer --config {config} contacts set anna@a.example --tier ") == [
        "vip",
        "inner",
    ]
    assert complete(f"mailer --config {config} seed --set ak --tier v") == ["vip"]


@pytest.mark.parametrize("words", ["mailer contacts show an", "mailer contacts set x --tier "])
def test_no_config_no_store_a_broken_config_complete_nothing_quietly(
    tmp_path: Path, words: str
) -> None:
    nothing = {"MAILER_CONFIG": str(tmp_path / "none.toml")}
    assert complete(words, env=nothing) == []
    broken = tmp_path / "broken.toml"
    broken.write_text("[me\n")
    assert complete(words, env={"MAILER_CONFIG": str(broken)}) == []
    no_store = tmp_path / "c.toml"
    no_store.write_text(f'[me]\naddresses = ["a@x.org"]\n[store]\npath = "{tmp_path}/no.json"\n')
    assert complete("mailer contacts show an", env={"MAILER_CONFIG": str(no_store)}) == []
    assert not (tmp_path / "no.json").exists()


def test_a_callback_that_meets_an_error_returns_nothing() -> None:
    ctx = click.Context(cli)  # no --config: $MAILER_CONFIG or XDG, maybe missing
    param = completion.find_param("contacts show", "who")
    assert isinstance(completion.complete_contact(ctx, param, "x"), list)

    def boom(ctx: click.Context, incomplete: str) -> list[click.shell_completion.CompletionItem]:
        print("noise")
        raise RuntimeError("boom")

    assert completion._quietly(boom)(ctx, param, "") == []


def test_every_attached_parameter_exists() -> None:
    # A command or parameter renamed in its module must be renamed in completion.ATTACHED.
    for command_path, name in completion.ATTACHED:
        try:
            completion.find_param(command_path, name)
        except (KeyError, StopIteration):
            pytest.fail(f"completion.ATTACHED names `mailer {command_path}` {name}: not there")
