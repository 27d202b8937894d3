"""The daemon's single-instance lock against a second `python -m mailer` process.

The daemon's scheduler with fake jobs is tested in tests/unit/test_daemon_unit.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mailer.daemonlock import single_instance
from mailer.errors import MailerError

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_single_instance_refuses_a_second_process(tmp_path: Path) -> None:
    path = tmp_path / "mailer.json"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from mailer.daemonlock import single_instance\n"
            "with single_instance(Path(sys.argv[1])):\n"
            "    print('ready', flush=True); sys.stdin.read()\n",
            str(path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=PROJECT_ROOT,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "ready\n"
        refused = rf"running on .* \(pid {holder.pid}\)$"
        with pytest.raises(MailerError, match=refused), single_instance(path):
            pass
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(10)
    with single_instance(path):  # the holder is gone
        pass
