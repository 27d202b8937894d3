"""The moments most tests call "now" (tests with a moment of their own keep it local)."""

from __future__ import annotations

from datetime import UTC, datetime

NOW = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)  # a Wednesday
DIGEST_NOW = datetime(2026, 3, 4, 6, 30, tzinfo=UTC)  # the same Wednesday, 07:30 in Berlin
