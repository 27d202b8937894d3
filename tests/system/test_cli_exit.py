"""How a `mailer` process ends: a short command that succeeded leaves at once.

mailer.cli.base._leave skips Python's teardown, which freed what the command
read (the store, its histories and keys) object by object and walked it with
the collector: 0.05 s of a scan that finds 100 new messages at 20,000 contacts.
Its output must still come out whole, and everything else end as it always did.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mailer.model import Contact
from mailer.store import Store
from tests.support.scanhelp import write_config

_WITH_TEARDOWN_NOTE = """
import atexit, sys
atexit.register(lambda: print("teardown ran", file=sys.stderr))
sys.argv = ["mailer", *sys.argv[1:]]
from mailer.cli import main
main()
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    people = [
        Contact(f"p{i}@x.example", f"Person {i}", tier="inner", messages_in=2, messages_out=1)
        for i in range(2_000)
    ]
    Store(tmp_path / "mailer.json").insert_contacts(people)
    return write_config(tmp_path, None, drafts={"maildir": str(tmp_path / "Drafts")})


@pytest.mark.parametrize(
    ("args", "code", "teardown"),
    [
        (("contacts", "list", "--format", "json"), 0, False),  # done: straight out
        (("contacts", "show", "nobody@nowhere.example"), 2, True),  # an error: as ever
        (("--version",), 0, True),  # click's own exit, before any command
    ],
)
def test_a_short_command_ends_with_its_output_whole_and_without_teardown(
    config: Path, args: tuple[str, ...], code: int, teardown: bool
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _WITH_TEARDOWN_NOTE, "--config", str(config), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "MAILER_NOW": "2026-11-20T09:00:00Z"},
        timeout=60,
    )
    assert done.returncode == code, done.stderr
    assert ("teardown ran" in done.stderr) is teardown, done.stderr
    if "list" in args:  # 2,000 rows, about 1 MB through a pipe: all of it
        assert len(json.loads(done.stdout)) == 2_000


@pytest.mark.parametrize("fmt", ["json", "table", "csv"])
def test_a_listing_whose_reader_leaves_early_ends_quietly(config: Path, fmt: str) -> None:
    """`mailer contacts list | head -1`: 2,000 rows are more than a pipe holds, so the
    writer meets a closed pipe; the rest is not wanted, which is no error."""
    listing = ["contacts", "list", "--format", fmt]
    proc = subprocess.Popen(
        [sys.executable, "-m", "mailer", "--config", str(config), *listing],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "MAILER_NOW": "2026-11-20T09:00:00Z"},
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # as `head -1` does once it has its line
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0, err
    assert err == ""
    assert first.strip()  # it printed before the reader left
