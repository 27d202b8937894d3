"""The systemd user unit `mailer init --systemd` writes, made from the shipped one.

The shipped unit (mailer/data/mailer.service, = contrib/mailer.service) assumes
mailer at ~/.local/bin and the store in ~/.local/share/mailer; the one written
runs this very mailer (the console script it was started as, else this Python
with -m mailer) on this config, and may write where this config keeps its
store and drafts (the unit makes everything else read-only).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from mailer.config import shipped

EXEC = "ExecStart=%h/.local/bin/mailer run"
WRITABLE = "ReadWritePaths=%h/.local/share/mailer"
COPY_HINT = "#   cp contrib/mailer.service ~/.config/systemd/user/"


def default_path(environ: dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
    return Path(base) / "systemd" / "user" / "mailer.service"


def mailer_command(argv0: str | None = None, executable: str | None = None) -> list[str]:
    """How to start this mailer again: the `mailer` script it was run as, else
    `python -m mailer` with this interpreter (a venv's python stays the venv's,
    so neither is resolved through symlinks)."""
    argv0 = sys.argv[0] if argv0 is None else argv0
    script = Path(os.path.abspath(argv0)) if argv0 else None
    if script and script.name == "mailer" and script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [executable or sys.executable, "-m", "mailer"]


def quote(arg: str) -> str:
    """One word of a unit file: specifiers (%) and variables ($) escaped, quoted when needed."""
    arg = arg.replace("%", "%%").replace("$", "$$")
    if re.fullmatch(r"[A-Za-z0-9_./:+@=,~-]+", arg):
        return arg
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(command: Sequence[str], config: Path, writable: Sequence[str]) -> str:
    """The unit running `command --config CONFIG run`, allowed to write `writable`
    (a path starting with "-" may be missing)."""
    template = shipped.text(shipped.UNIT)
    for line in (EXEC, WRITABLE, COPY_HINT):
        if line not in template.splitlines():
            raise RuntimeError(f"the shipped mailer.service has no line {line!r}")
    run = " ".join(quote(a) for a in [*command, "--config", str(config), "run"])
    paths = " ".join(("-" + quote(p[1:])) if p.startswith("-") else quote(p) for p in writable)
    lines = []
    for line in template.splitlines():
        if line == COPY_HINT:
            line = (
                "# Written by `mailer init --systemd`: run it again if mailer or the config moves."
            )
        elif line == EXEC:
            line = f"ExecStart={run}"
        elif line == WRITABLE:
            line = f"ReadWritePaths={paths}"
        lines.append(line)
    return "\n".join(lines) + "\n"
