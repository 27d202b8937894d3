"""The starter file `mailer init` writes, made from the key table.

Made, not written by hand, so it offers every key there is with its help and
default, and a key added to the table shows up in it. The keys `mailer init`
asks for are set (as TOML literals, so any answer is quoted right); every
other one is commented out.
"""

from __future__ import annotations

import json
from typing import Any

from mailer.config.keys import KEYS, REQUIRED, Key

# Said instead of the key's help, where the starter has more to say.
NOTES = {
    "commands.address": (
        "Mail to this exact address is read as commands. The random tag makes it a\n"
        "secret: treat it like a password."
    ),
}
HEADER = """\
# mailer configuration, written by `mailer init`.
# `mailer config show` prints every key with the value in effect (defaults too);
# `mailer config example` prints the example that documents every key.
# The password is never stored here: set {password_env} in the environment,
# or use password_command / keyring under [account].
# A key commented out shows its default, or an example where it has none."""


def toml(value: Any) -> str:
    """A value (a default from the table, an answer to init) as a TOML literal."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        # A JSON string is a TOML basic string; DEL is the one control JSON leaves raw.
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML literal for {value!r}")


def _shown(key: Key) -> str:
    if key.default is None or key.default is REQUIRED:
        return key.example
    return toml(key.default)


def render(values: dict[str, Any], password_env: str = "MAILER_PASSWORD") -> str:
    """The file: the keys in `values` (key path -> value) set, every other one commented out."""
    lines = [HEADER.format(password_env=password_env)]
    section = ""
    for key in KEYS:
        table, _, name = key.path.partition(".")
        if table != section:
            lines += ["", f"[{table}]"]
            section = table
        lines += [f"# {line}" for line in NOTES.get(key.path, key.help).splitlines()]
        if key.path in values:
            lines.append(f"{name} = {toml(values[key.path])}")
        else:
            lines.append(f"# {name} = {_shown(key)}")
    return "\n".join(lines) + "\n"
