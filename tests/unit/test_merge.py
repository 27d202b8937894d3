"""Aliases: two addresses of one person become one contact with one history."""

from __future__ import annotations

import dataclasses

import pytest

from mailer.core.contacts import merge
from mailer.core.naming import resolve
from mailer.model import Contact


def test_merge_keeps_the_history_right() -> None:
    work = Contact(
        "anna@work.example",
        "Anna Berg",
        status="active",
        tier="inner",
        tags=("rust",),
        trust=2,
        notes="met at RustConf",
        first_seen="2024-05-01T00:00:00Z",
        last_inbound="2026-01-10T00:00:00Z",
        last_outbound="2025-12-01T00:00:00Z",
        messages_in=5,
        messages_out=4,
        recent_out=("2025-12-01T00:00:00Z",),
    )
    home = Contact(
        "anna@home.example",
        "Anna",
        tags=("climbing",),
        trust=3,
        notes="two kids",
        first_seen="2023-02-01T00:00:00Z",
        last_inbound="2025-11-01T00:00:00Z",
        last_outbound="2026-02-01T00:00:00Z",
        messages_in=2,
        messages_out=3,
        recent_out=("2026-02-01T00:00:00Z", "2025-10-01T00:00:00Z"),
        snoozed_until="2026-04-01T00:00:00Z",
    )
    m = merge(work, home)
    assert m.email == "anna@work.example" and m.aliases == ("anna@home.example",)
    assert (m.messages_in, m.messages_out) == (7, 7)
    assert m.first_seen == "2023-02-01T00:00:00Z"
    assert m.last_inbound == "2026-01-10T00:00:00Z"
    assert m.last_outbound == "2026-02-01T00:00:00Z"
    # only the outbound mail after their last answer (2026-01-10) is kept: it may count
    assert m.recent_out == ("2026-02-01T00:00:00Z",)
    assert (m.name, m.tier, m.trust, m.status) == ("Anna Berg", "inner", 3, "active")
    assert m.tags == ("climbing", "rust") and m.notes == "met at RustConf\ntwo kids"
    assert m.snoozed_until == "2026-04-01T00:00:00Z"
    assert resolve([m], "anna@home.example") is m
    with pytest.raises(ValueError):
        merge(work, dataclasses.replace(home, email=work.email))
