"""The store's one timestamp format: `iso` (and `date_text`) write what isoformat would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from mailer.core.times import date_text
from mailer.model import iso
from mailer.model.times import parse_iso


def _by_isoformat(dt: datetime) -> str:
    return dt.astimezone(UTC).replace(microsecond=0).isoformat()[:19] + "Z"


@given(
    st.datetimes(
        min_value=datetime(2, 1, 1),
        max_value=datetime(9998, 12, 31),
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=9)), timezone(timedelta(hours=-5, minutes=-30))]
        ),
    )
)
def test_iso_is_isoformat_in_utc_to_the_second(dt: datetime) -> None:
    text = iso(dt)
    assert text == _by_isoformat(dt)
    assert parse_iso(text) == dt.astimezone(UTC).replace(microsecond=0)
    assert date_text(dt) == dt.date().isoformat()


def test_iso_of_edges() -> None:
    assert iso(None) is None
    assert iso(datetime(999, 1, 2, 3, 4, 5, 999_999, tzinfo=UTC)) == "0999-01-02T03:04:05Z"
    assert iso(datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)) == "2026-12-31T23:59:59Z"
    tokyo = datetime(2027, 1, 1, 8, 0, tzinfo=timezone(timedelta(hours=9)))
    assert iso(tokyo) == "2026-12-31T23:00:00Z"
