"""Config: the spec table, the example file, error messages, lookup order, passwords."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from datetime import timedelta
from pathlib import Path

import pytest

from mailer import config as cfg
from mailer.core.durations import format_duration, parse_duration
from mailer.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config.example.toml"


def test_example_parses_and_documents_every_key() -> None:
    config = cfg.load(str(EXAMPLE))
    assert config.account is not None and config.account.port == 993
    assert config.get("rules.tiers")["loose"] == timedelta(days=180)
    text = EXAMPLE.read_text()
    # Every key of the table appears, set or commented out, under its section.
    section = ""
    seen = set()
    for line in text.splitlines():
        m = re.match(r"^\[([\w.]+)\]", line)
        if m:
            section = m[1]
            continue
        m = re.match(r"^#?\s*(\w+)\s*=", line)
        if m and section:
            seen.add(f"{section}.{m[1]}")
    for key in cfg.KEYS:
        if key.path == "rules.tiers":
            assert "[rules.tiers]" in text
            continue
        assert key.path in seen, f"{key.path} is not documented in config.example.toml"


ANSWERS = {
    "account.host": "imap.x.org",
    "account.port": 993,
    "account.security": "tls",
    "account.username": "a@x.org",
    "me.name": 'Zoë "Z" O\\Brien',
    "me.addresses": ["a@x.org"],
    "commands.address": "a+m@x.org",
    "rules.timezone": "Europe/Berlin",
}


def test_starter_from_init_parses() -> None:
    from mailer.config import starter

    text = starter.render(ANSWERS)
    config = cfg.from_dict(tomllib.loads(text))
    assert config.get("commands.address") == "a+m@x.org"
    assert config.get("commands.allowed_senders") == ("a@x.org",)
    assert config.get("me.name") == ANSWERS["me.name"]  # any answer is quoted right
    assert config.get("rules.timezone") == "Europe/Berlin"
    assert "mailer config show" in text and "config.example.toml" not in text


def test_starter_offers_every_key_and_its_commented_lines_parse() -> None:
    from mailer.config import starter

    text = starter.render(ANSWERS)
    section, offered = "", []
    for line in text.splitlines():
        m = re.match(r"^\[([\w.]+)\]", line)
        if m:
            section = m[1]
            continue
        m = re.match(r"^#? ?(\w+) = \S", line)
        if m and section:
            offered.append(f"{section}.{m[1]}")
    assert offered == [k.path for k in cfg.KEYS]
    # Each default or example, uncommented, is a valid value of its key.
    every = re.sub(r"(?m)^# (\w+ = )", r"\1", text)
    assert cfg.from_dict(tomllib.loads(every)).account is not None


def test_each_section_dataclass_holds_exactly_its_keys() -> None:
    from mailer.config.keys import SECTIONS

    assert list(cfg.SECTION_TYPES) == list(SECTIONS)
    assert [f.name for f in dataclasses.fields(cfg.Config)] == ["path", *SECTIONS]
    for section, cls in cfg.SECTION_TYPES.items():
        keys = [k.path for k in cfg.KEYS if k.path.partition(".")[0] == section]
        assert [f"{section}.{f.name}" for f in dataclasses.fields(cls)] == keys


def test_rules_and_intros_give_the_cores_dataclasses() -> None:
    from mailer.app import App
    from mailer.core.intros import IntroRules
    from mailer.core.rules import Rules

    config = cfg.load(str(EXAMPLE))
    rules, intros = App(config).rules, App(config).intro_rules
    assert {f.name for f in dataclasses.fields(Rules)} <= set(vars(config.rules))
    assert dataclasses.asdict(intros) == dataclasses.asdict(config.intros)
    assert isinstance(rules, Rules) and isinstance(intros, IntroRules)
    assert rules.tiers == config.rules.tiers and rules.jitter == config.rules.jitter


def test_every_problem_in_one_message_with_full_paths() -> None:
    data = {
        "account": {"host": "h", "username": "u", "port": "993", "securty": "tls"},
        "me": {"addresses": ["not-an-address"]},
        "rules": {"default_cadence": "soon", "tiers": {"inner": "3x"}},
    }
    with pytest.raises(ConfigError) as e:
        cfg.from_dict(data, Path("/c.toml"))
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("config error in /c.toml")
    for part in (
        "account.port:",
        "account.securty: unknown key (did you mean account.security?)",
        "me.addresses:",
        "rules.default_cadence:",
        "rules.tiers:",
    ):
        assert part in msg
    assert e.value.exit_code == 2


def test_missing_required_and_unknown_section() -> None:
    with pytest.raises(ConfigError) as e:
        cfg.from_dict({"account": {"host": "h"}, "bogus": {"x": 1}})
    msg = str(e.value)
    assert "account.username: missing" in msg
    assert "me.addresses: missing" in msg
    assert "bogus.x: unknown key" in msg


def test_account_is_optional_for_local_imports() -> None:
    config = cfg.from_dict({"me": {"addresses": ["Me@X.org"]}})
    assert config.account is None
    assert config.me_addresses == ("me@x.org",)
    with pytest.raises(ConfigError, match=r"no \[account\]"):
        config.require_account()


def test_lookup_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("MAILER_CONFIG", raising=False)
    assert cfg.find_path(None) == tmp_path / "xdg" / "mailer" / "config.toml"
    monkeypatch.setenv("MAILER_CONFIG", str(tmp_path / "env.toml"))
    assert cfg.find_path(None) == tmp_path / "env.toml"
    assert cfg.find_path(str(tmp_path / "flag.toml")) == tmp_path / "flag.toml"


def test_missing_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="mailer init"):
        cfg.load(str(tmp_path / "none.toml"))
    bad = tmp_path / "bad.toml"
    bad.write_text("[me\naddresses = 1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        cfg.load(str(bad))


@pytest.mark.parametrize(
    ("text", "days"), [("14d", 14), ("2w", 14), ("3m", 90), ("1y", 365), ("1y 2m", 425)]
)
def test_durations(text: str, days: int) -> None:
    assert parse_duration(text) == timedelta(days=days)


@pytest.mark.parametrize("text", ["", "soon", "0d", "-3d", "3", "d3", "1.5w"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_format_duration() -> None:
    assert format_duration(timedelta(days=90)) == "3m"
    assert format_duration(timedelta(days=14)) == "2w"
    assert format_duration(timedelta(days=10)) == "10d"


def test_defaults_are_parsed_like_given_values() -> None:
    config = cfg.from_dict({"me": {"addresses": ["a@b.c"]}})
    assert config.get("rules.default_cadence") == timedelta(days=90)
    assert config.get("rules.reply_owed_after") == timedelta(days=7)
    assert isinstance(config.store_path, Path)
