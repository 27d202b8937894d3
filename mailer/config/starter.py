"""The starter file `mailer init` writes, made from the key table.

Made, not written by hand, so it offers every key there is with its help and
default, and a key added to the table shows up in it. The keys `mailer init`
asks for are set; every other one is commented out.
"""

from __future__ import annotations

import json
from typing import Any

from mailer.config.keys import KEYS, REQUIRED, Key

# Set in the file, as str.format fields of init's answers.
FILLED = {
    "account.host": '"{host}"',
    "account.security": '"tls"',
    "account.username": '"{email}"',
    "me.name": '"{name}"',
    "me.addresses": '["{email}"]',
    "commands.address": '"{command_address}"',
}
# Said instead of the key's help, where the starter has more to say.
NOTES = {
    "commands.address": (
        "Mail to this exact address is read as commands. The random tag makes it a\n"
        "secret: treat it like a password."
    ),
}
HEADER = """\
# mailer configuration. Every key is documented in config.example.toml.
# The password is never stored here: set {password_env} in the environment,
# or use password_command / keyring under [account].
# A key commented out shows its default, or an example where it has none."""


def toml(value: Any) -> str:
    """A default from the table as a TOML literal."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML literal for {value!r}")


def _shown(key: Key) -> str:
    if key.default is None or key.default is REQUIRED:
        return key.example
    return toml(key.default)


def _literal(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")  # outside the format fields


def template() -> str:
    """The file, with format fields host, email, name, command_address and password_env."""
    lines = [HEADER]
    section = ""
    for key in KEYS:
        table, _, name = key.path.partition(".")
        if table != section:
            lines += ["", f"[{table}]"]
            section = table
        lines += [f"# {_literal(line)}" for line in NOTES.get(key.path, key.help).splitlines()]
        if key.path in FILLED:
            lines.append(f"{name} = {FILLED[key.path]}")
        else:
            lines.append(f"# {name} = {_literal(_shown(key))}")
    return "\n".join(lines) + "\n"
