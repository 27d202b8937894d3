"""`mailer config show`: every key with the value in effect, defaults included, secrets hidden.

The output is what a user pastes into a bug report, so a value that is or may
hold a secret is never printed: a command line (it can carry a password) and
the command address (its random tag is the secret) show as "<set>";
`password_env` is the variable's name, never its value.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from mailer.config import Config
from mailer.config.keys import BY_PATH, KEYS, REQUIRED, TABLES

# Shown as "<set>" (or null when unset), never as their value.
SECRET = frozenset(
    {
        "account.password_command",
        "account.oauth2_token_command",
        "smtp.password_command",
        "commands.address",
    }
)
SET = "<set>"


def plain(value: Any) -> Any:
    """A parsed config value as JSON: durations as days ("90d"), paths as strings."""
    if isinstance(value, timedelta):
        return f"{value.days}d"
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [plain(v) for v in value]
    return value


def given_keys(path: Path | None) -> set[str]:
    """The key paths the file sets (the rest are defaults)."""
    if path is None:
        return set()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    out: set[str] = set()

    def walk(table: dict[str, Any], prefix: str) -> None:
        for key, value in table.items():
            if isinstance(value, dict) and prefix + key not in TABLES:
                walk(value, f"{prefix}{key}.")
            else:
                out.add(prefix + key)

    walk(data, "")
    return out


def _default(path: str) -> Any:
    key = BY_PATH[path]
    if key.default is REQUIRED or key.default is None:
        return None
    return key.parse(key.default) if isinstance(key.default, (str, dict)) else key.default


def effective(config: Config) -> list[tuple[str, Any, str]]:
    """(key path, value as JSON, "file" or "default") for every key, in the table's order."""
    given = given_keys(config.path)
    rows = []
    for key in KEYS:
        if key.path.startswith("account.") and config.account is None:
            value = _default(key.path)  # no [account]: what it would default to
        else:
            value = config.get(key.path)
        value = plain(value)
        if key.path in SECRET and value is not None:
            value = SET
        rows.append((key.path, value, "file" if key.path in given else "default"))
    return rows


def as_json(config: Config) -> dict[str, Any]:
    return {
        "path": str(config.path) if config.path else None,
        "keys": {path: {"value": v, "source": s} for path, v, s in effective(config)},
    }


def as_text(config: Config) -> str:
    from mailer.config.starter import toml

    lines = [f"# {config.path}"] if config.path else []
    for path, value, source in effective(config):
        if value is None:
            shown = "<unset>"
        elif value == SET and path in SECRET:
            shown = SET
        else:
            shown = toml(value)
        lines.append(f"{path} = {shown}" + ("  # default" if source == "default" else ""))
    return "\n".join(lines)
