"""The files mailer ships inside the package: the documented example config and the
systemd unit, so a `pip install` has them too (the repository's copies are only in a checkout).

mailer/data/config.example.toml and mailer/data/mailer.service are byte for byte
the top-level config.example.toml and contrib/mailer.service; a unit test fails
when they differ, so the two cannot drift.
"""

from __future__ import annotations

from importlib import resources

EXAMPLE = "config.example.toml"
UNIT = "mailer.service"


def text(name: str) -> str:
    return resources.files("mailer").joinpath("data", name).read_text(encoding="utf-8")
