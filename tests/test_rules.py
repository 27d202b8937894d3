"""The time-based rules: who is due for a draft, why, and who is held back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailer.core.rules import (
    DRAFT_KINDS,
    HOLD_REPLY,
    HOLD_WEEKEND,
    KINDS,
    Item,
    Plan,
    Rules,
    cadence_for,
    effective_status,
    jitter_for,
    next_due,
    plan,
    status_and_next_due,
)
from mailer.model import STATUSES, Contact, DraftRecord, iso

NOW = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)  # a Wednesday
DAY = timedelta(days=1)
TIERS = {"inner": 30 * DAY, "network": 90 * DAY, "loose": 180 * DAY}
R = Rules(tiers=TIERS, jitter=timedelta(0))  # no jitter: due dates are exact


def ago(days: float, now: datetime = NOW) -> str:
    return iso(now - timedelta(days=days))  # type: ignore[return-value]


def active(email: str = "ann@x.org", days: float = 100, now: datetime = NOW, **kw: Any) -> Contact:
    """An active contact; we wrote last, `days` ago (so no reply is owed)."""
    fields: dict[str, Any] = {
        "status": "active",
        "first_seen": ago(900, now),
        "last_inbound": ago(days + 1, now),
        "last_outbound": ago(days, now),
        "messages_in": 5,
        "messages_out": 5,
    }
    fields.update(kw)
    return Contact(email=email, **fields)


def seed(email: str = "sam@x.org", first: float = 20, last: float = 15, **kw: Any) -> Contact:
    """A two-way seed: first seen `first` days ago, we answered `last` days ago."""
    fields: dict[str, Any] = {
        "first_seen": ago(first),
        "last_inbound": ago(last + 0.5),
        "last_outbound": ago(last),
        "messages_in": 1,
        "messages_out": 1,
    }
    fields.update(kw)
    return Contact(email=email, **fields)


def draft(email: str, kind: str = "reconnect", written: datetime = NOW) -> DraftRecord:
    return DraftRecord(key=f"{kind}:{email}:x", email=email, kind=kind, written_at=iso(written))  # type: ignore[arg-type]


def run(
    *contacts: Contact, drafts: tuple[DraftRecord, ...] = (), rules: Rules = R, now: datetime = NOW
) -> Plan:
    return plan(contacts, drafts, rules, now)


def kinds(p: Plan) -> list[tuple[str, str]]:
    return [(i.email, i.kind) for i in p.items]


def only(p: Plan) -> Item:
    assert len(p.items) == 1, kinds(p)
    return p.items[0]


# --- cadence -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "due", "overdue"),
    [(89, False, None), (89.99, False, None), (90, True, 0), (120, True, 30)],
)
def test_default_cadence(days: float, due: bool, overdue: int | None) -> None:
    p = run(active(days=days))
    if not due:
        assert p.items == []
        return
    item = only(p)
    assert (item.kind, item.overdue_days, item.draft, item.hold) == (
        "reconnect",
        overdue,
        True,
        None,
    )
    assert item.due_at == NOW - timedelta(days=days) + 90 * DAY
    assert item.reason == (
        f"last contact {ago(days)[:10]} ({int(days)} days ago); cadence 90d (default)"
    )


@pytest.mark.parametrize(
    ("tier", "days", "due"),
    [
        ("inner", 29, False),
        ("inner", 30, True),
        ("network", 89, False),
        ("network", 90, True),
        ("loose", 179, False),
        ("loose", 180, True),
        ("unknown", 89, False),  # a tier without a cadence: the default
        ("unknown", 90, True),
    ],
)
def test_tier_cadence(tier: str, days: int, due: bool) -> None:
    p = run(active(days=days, tier=tier))
    assert [i.kind for i in p.items] == (["reconnect"] if due else [])
    if due:
        source = "default" if tier == "unknown" else f"tier {tier}"
        assert p.items[0].reason.endswith(f"({source})")


def test_reconnect_reason_reads_like_a_sentence() -> None:
    item = only(run(active(days=100, tier="network")))
    assert item.reason == "last contact 2025-11-24 (100 days ago); cadence 90d (tier network)"


@pytest.mark.parametrize(
    ("tier", "cadence", "expected", "source"),
    [
        (None, None, 90, "default"),
        ("inner", None, 30, "tier inner"),
        ("inner", "2w", 14, "set for this contact"),
        (None, "1y", 365, "set for this contact"),
        ("inner", "often", 30, "tier inner"),  # not a duration: falls back
        (None, "often", 90, "default; cadence 'often' not understood"),
    ],
)
def test_cadence_precedence(
    tier: str | None, cadence: str | None, expected: int, source: str
) -> None:
    c = active(days=400 if expected == 365 else expected, tier=tier, cadence=cadence)
    assert cadence_for(c, R) == expected * DAY
    rules = Rules(tiers=TIERS, jitter=timedelta(0), dormancy=1000 * DAY)
    item = only(run(c, rules=rules))
    assert item.reason.endswith(f"({source})")


def test_contact_cadence_overrides_tier() -> None:
    c = active(days=14, tier="inner", cadence="2w")
    assert only(run(c)).reason.endswith("cadence 14d (set for this contact)")
    assert run(active(days=13, tier="inner", cadence="2w")).items == []


# --- snooze --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("snoozed_until", "listed"),
    [
        (NOW + DAY, False),
        (NOW + timedelta(seconds=1), False),
        (NOW, True),  # the snooze has ended at its instant
        (NOW - timedelta(hours=1), True),
        (None, True),
    ],
)
def test_snooze(snoozed_until: datetime | None, listed: bool) -> None:
    c = active(days=100, snoozed_until=iso(snoozed_until))
    assert [i.kind for i in run(c).items] == (["reconnect"] if listed else [])
    s = seed(snoozed_until=iso(snoozed_until))
    assert [i.kind for i in run(s).items] == (["seed"] if listed else [])


def test_snooze_moves_next_due_to_its_end() -> None:
    until = NOW + 5 * DAY
    c = active(days=100, snoozed_until=iso(until))
    assert next_due(c, [], R, NOW) == until
    assert next_due(c, [], R, until) == NOW - 10 * DAY  # after it: the real due time


# --- daily maximum and weekends ------------------------------------------------


def test_daily_maximum_counts_drafts_of_today_in_the_configured_zone() -> None:
    now = datetime(2026, 3, 4, 23, 30, tzinfo=UTC)  # Thursday 00:30 in Berlin
    due = [active(f"p{n}@x.org", days=100 + n, now=now) for n in range(4)]
    written = [
        draft("o1@x.org", written=datetime(2026, 3, 4, 23, 10, tzinfo=UTC)),  # Berlin: today
        draft("o2@x.org", written=datetime(2026, 3, 4, 22, 50, tzinfo=UTC)),  # Berlin: yesterday
        draft("o4@x.org", "seed", datetime(2026, 3, 4, 8, 0, tzinfo=UTC)),  # Berlin: yesterday
        # asked for by the owner: never counted
        draft("o3@x.org", "introduction", datetime(2026, 3, 4, 23, 15, tzinfo=UTC)),
        draft("me@x.org", "digest", datetime(2026, 3, 4, 23, 20, tzinfo=UTC)),
    ]
    berlin = Rules(tiers=TIERS, jitter=timedelta(0), max_drafts_per_day=3, timezone="Europe/Berlin")
    p = plan(due, written, berlin, now)
    assert p.drafts_today == 1
    assert [(i.email, i.draft, i.hold) for i in p.items] == [
        ("p3@x.org", True, None),  # the most overdue take the places
        ("p2@x.org", True, None),
        ("p1@x.org", False, "daily maximum reached (3)"),
        ("p0@x.org", False, "daily maximum reached (3)"),
    ]
    assert [i.email for i in p.to_draft] == ["p3@x.org", "p2@x.org"]

    utc = Rules(tiers=TIERS, jitter=timedelta(0), max_drafts_per_day=3)
    p = plan(due, written, utc, now)
    assert p.drafts_today == 3
    assert p.to_draft == []
    assert {i.hold for i in p.items} == {"daily maximum reached (3)"}


def test_daily_maximum_of_zero_drafts_nothing() -> None:
    p = run(active(), rules=Rules(jitter=timedelta(0), max_drafts_per_day=0))
    assert only(p).hold == "daily maximum reached (0)"


@pytest.mark.parametrize(
    ("now", "zone", "weekend"),
    [
        (datetime(2026, 3, 6, 23, 30, tzinfo=UTC), "Europe/Berlin", True),  # Sat 00:30 there
        (datetime(2026, 3, 6, 23, 30, tzinfo=UTC), "UTC", False),  # still Friday
        (datetime(2026, 3, 7, 2, 0, tzinfo=UTC), "America/New_York", False),  # Fri 21:00 there
        (datetime(2026, 3, 7, 2, 0, tzinfo=UTC), "UTC", True),
        (datetime(2026, 3, 8, 23, 30, tzinfo=UTC), "Europe/Berlin", False),  # Monday there
        (datetime(2026, 3, 8, 23, 30, tzinfo=UTC), "UTC", True),  # Sunday
    ],
)
def test_weekdays_only_uses_the_local_day(now: datetime, zone: str, weekend: bool) -> None:
    contacts = [active(f"p{n}@x.org", days=100, now=now) for n in range(3)]
    rules = Rules(jitter=timedelta(0), timezone=zone, max_drafts_per_day=1)
    p = plan(contacts, [], rules, now)
    if weekend:
        assert {(i.draft, i.hold) for i in p.items} == {(False, HOLD_WEEKEND)}
    else:
        assert [i.draft for i in p.items] == [True, False, False]
    anyday = Rules(jitter=timedelta(0), timezone=zone, max_drafts_per_day=1, weekdays_only=False)
    assert len(plan(contacts, [], anyday, now).to_draft) == 1


# --- seeds ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("contact", "drafts", "listed"),
    [
        (seed(), (), True),  # new, followed up 14 days after the last exchange
        (seed(last=13), (), False),  # not yet
        (seed(first=100, last=15), (), False),  # not new any more: waits for triage
        (seed(messages_in=0, last_inbound=None), (), False),  # they never wrote
        (seed(), (draft("sam@x.org", "seed", NOW - 30 * DAY),), False),  # one follow-up only
        (seed(), (draft("other@x.org", "seed", NOW - 30 * DAY),), True),
        (seed(), (draft("sam@x.org", "introduction", NOW - 30 * DAY),), True),
    ],
)
def test_seed_followup(contact: Contact, drafts: tuple[DraftRecord, ...], listed: bool) -> None:
    p = run(contact, drafts=drafts)
    if not listed:
        assert p.items == []
        return
    item = only(p)
    assert (item.kind, item.draft, item.overdue_days) == ("seed", True, 1)
    assert item.due_at == NOW - 15 * DAY + 14 * DAY
    assert item.key == f"seed:sam@x.org:{item.due_at.date().isoformat()}"
    assert item.reason == (
        f"new contact since {ago(20)[:10]}; last exchange {ago(15)[:10]} (15 days ago); "
        "follow-up after 14d"
    )


def test_seed_once_followed_up_stays_quiet_even_after_its_window() -> None:
    written = (draft("sam@x.org", "seed", NOW - 20 * DAY),)
    assert run(seed(last=30), drafts=written).items == []
    assert next_due(seed(last=30), list(written), R, NOW) is None


# --- reply owed ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("last_in", "last_out", "owed"),
    [
        (8, 20, True),
        (7, 20, True),
        (6, 20, False),  # not waited long enough
        (8, 5, False),  # we wrote last
        (8, None, True),  # we never wrote
    ],
)
def test_reply_owed(last_in: int, last_out: int | None, owed: bool) -> None:
    c = active(last_inbound=ago(last_in), last_outbound=None if last_out is None else ago(last_out))
    p = run(c)
    if not owed:
        assert p.items == []
        return
    item = only(p)
    assert (item.kind, item.draft, item.hold, item.key) == ("reply_owed", False, HOLD_REPLY, None)
    assert item.due_at == NOW - last_in * DAY + 7 * DAY
    assert item.overdue_days == last_in - 7
    assert item.reason == (
        f"their message of {ago(last_in)[:10]} has waited {last_in} days for a reply"
    )


def test_reply_owed_for_new_seeds_but_not_old_ones() -> None:
    new = seed("new@x.org", first=10, last_inbound=ago(8), last_outbound=None, messages_out=0)
    old = seed("old@x.org", first=200, last_inbound=ago(8), last_outbound=None, messages_out=0)
    assert kinds(run(new, old)) == [("new@x.org", "reply_owed")]


def test_a_seed_whose_message_waits_gets_no_follow_up_only_reply_owed() -> None:
    # Their message is the last one: the answer belongs in their thread.
    waiting = seed("w@x.org", first=30, last=20, last_inbound=ago(16))
    assert kinds(run(waiting)) == [("w@x.org", "reply_owed")]
    # Inbound only (a cold email): no follow-up draft either.
    cold = seed("c@x.org", first=30, last=20, last_outbound=None, messages_out=0)
    assert [k for k in kinds(run(cold)) if k[1] == "seed"] == []


def test_reply_owed_longest_waiting_first() -> None:
    a = active("a@x.org", last_inbound=ago(10), last_outbound=ago(50))
    b = active("b@x.org", last_inbound=ago(30), last_outbound=ago(50))
    c = active("c@x.org", last_inbound=ago(10), last_outbound=ago(50))
    assert [i.email for i in run(a, b, c).items] == ["b@x.org", "a@x.org", "c@x.org"]


# --- weeds ---------------------------------------------------------------------


@pytest.mark.parametrize(("days", "kind"), [(364, "reconnect"), (365, "dormant"), (700, "dormant")])
def test_dormant_after_a_year_without_exchange(days: int, kind: str) -> None:
    c = active(days=days)
    item = only(run(c))
    assert item.kind == kind
    assert effective_status(c, R, NOW) == ("active" if kind == "reconnect" else "dormant")
    if kind == "dormant":
        assert (item.draft, item.hold, item.due_at, item.key, item.overdue_days) == (
            False,
            None,
            None,
            None,
            0,
        )
        assert item.reason == f"no exchange since {ago(days)[:10]} ({days} days ago); dormancy 365d"


def test_stored_dormant_is_listed_and_kept() -> None:
    c = active(days=10, status="dormant")
    assert effective_status(c, R, NOW) == "dormant"
    item = only(run(c))
    assert item.kind == "dormant"
    assert item.reason.startswith("marked dormant; ")
    assert next_due(c, [], R, NOW) is None


@pytest.mark.parametrize(
    ("unanswered", "kind"), [(2, "reconnect"), (3, "one_sided"), (5, "one_sided")]
)
def test_one_sided_gets_no_reconnect(unanswered: int, kind: str) -> None:
    outs = tuple(ago(100 + n) for n in range(unanswered))  # newest first
    c = active(days=100, last_inbound=ago(200), recent_out=(*outs, ago(250)))
    assert c.outbound_unanswered == unanswered
    item = only(run(c))
    assert item.kind == kind
    if kind == "one_sided":
        assert not item.draft and item.due_at is None
        assert item.reason == (
            f"{unanswered} messages to them unanswered since their last on {ago(200)[:10]}"
        )
        assert next_due(c, [], R, NOW) is None


# --- statuses ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n_in", "n_out", "span", "tier", "tags", "expected"),
    [
        (2, 2, 60, None, (), "active"),  # established: promoted by itself
        (2, 2, 59, None, (), "seed"),  # not long enough
        (1, 5, 100, None, (), "seed"),  # too few from them
        (5, 1, 100, None, (), "seed"),  # too few from us
        (1, 0, 5, "inner", (), "active"),  # triaged by tier
        (1, 0, 5, None, ("friend",), "active"),  # triaged by tags
    ],
)
def test_effective_status_promotion(
    n_in: int, n_out: int, span: int, tier: str | None, tags: tuple[str, ...], expected: str
) -> None:
    c = Contact(
        email="e@x.org",
        first_seen=ago(span + 100),
        last_inbound=ago(101),
        last_outbound=ago(100),
        messages_in=n_in,
        messages_out=n_out,
        tier=tier,
        tags=tags,
    )
    assert effective_status(c, R, NOW) == expected
    # active ones are due (100 days > 90); these seeds are too old to be followed up
    assert [i.kind for i in run(c).items] == (["reconnect"] if expected == "active" else [])


@pytest.mark.parametrize("status", ["weeded", "ignored"])
def test_weeded_and_ignored_never_appear(status: str) -> None:
    due = active(days=100, status=status)
    owes = active(days=10, status=status, last_inbound=ago(8), last_outbound=ago(50))
    gone = active(days=500, status=status)
    assert effective_status(due, R, NOW) == status
    assert run(due, owes, gone).items == []
    assert next_due(due, [], R, NOW) is None


def test_stored_statuses_are_kept_even_when_established() -> None:
    for status in ("weeded", "ignored", "dormant"):
        c = active(status=status, tier="inner")
        assert effective_status(c, R, NOW) == status


# --- ordering, drafts written, keys ----------------------------------------------


def test_order_most_overdue_first_ties_by_email_then_reply_then_weeds() -> None:
    contacts = [
        active("z@x.org", days=100),  # 10 days overdue
        active("b@x.org", days=100.5),  # 10 days overdue too: ties by email
        active("a@x.org", days=130),  # 40
        seed("s@x.org", last=20),  # 6 (a seed among the reconnects)
        active("owe@x.org", last_inbound=ago(9), last_outbound=ago(40)),
        active("old@x.org", days=400),
        active(
            "one@x.org", days=100, last_inbound=ago(300), recent_out=(ago(100), ago(110), ago(120))
        ),
    ]
    p = run(*reversed(contacts))
    assert kinds(p) == [
        ("a@x.org", "reconnect"),
        ("b@x.org", "reconnect"),
        ("z@x.org", "reconnect"),
        ("s@x.org", "seed"),
        ("owe@x.org", "reply_owed"),
        ("old@x.org", "dormant"),
        ("one@x.org", "one_sided"),
    ]
    assert [i.overdue_days for i in p.items[:4]] == [40, 10, 10, 6]


def test_a_written_draft_keeps_the_contact_quiet_for_one_cadence() -> None:
    c = active(days=100)
    first = only(run(c))
    written = (draft(c.email, written=NOW - timedelta(hours=1)),)
    assert run(c, drafts=written).items == []  # written, maybe deleted unsent: quiet
    assert run(c, drafts=written, now=NOW + 89 * DAY).items == []
    again = only(run(c, drafts=written, now=NOW + 90 * DAY))
    assert again.due_at == NOW - timedelta(hours=1) + 90 * DAY
    assert again.key != first.key  # the next cycle
    assert "; last draft 2026-03-04;" in again.reason
    # other kinds of draft do not count as having reached out
    for kind in ("digest", "introduction", "intro_request"):
        assert only(run(c, drafts=(draft(c.email, kind),))).key == first.key


def test_key_is_stable() -> None:
    c = active("Ann@x.org".lower(), days=100)
    a, b = run(c), run(c)
    assert a.items == b.items
    key = only(a).key
    assert key == f"reconnect:ann@x.org:{(NOW - 10 * DAY).date().isoformat()}"
    assert only(run(c, now=NOW + timedelta(hours=13))).key == key  # same cycle, later run
    berlin = Rules(tiers=TIERS, jitter=timedelta(0), timezone="Europe/Berlin")
    assert only(run(c, rules=berlin)).key == key  # the zone does not re-key drafts


def test_now_in_another_zone_is_the_same_instant() -> None:
    c = active(days=100)
    assert run(c).items == run(c, now=NOW.astimezone(ZoneInfo("Asia/Tokyo"))).items


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        run(active(), now=NOW.replace(tzinfo=None))


# --- jitter --------------------------------------------------------------------


def test_jitter_is_whole_days_in_range() -> None:
    rules = Rules()
    seen = {jitter_for(f"p{n}@example.org", rules) for n in range(1000)}
    assert seen == {n * DAY for n in range(4)}
    assert jitter_for("ann@example.org", Rules(jitter=timedelta(0))) == timedelta(0)
    wide = Rules(jitter=7 * DAY)
    assert {jitter_for(f"p{n}@x.org", wide).days for n in range(1000)} == set(range(8))


def test_jitter_is_pinned() -> None:
    # blake2b, not hash(): the same in every process. Changing it would re-key
    # every open draft, so these values are part of the contract.
    rules = Rules()
    assert jitter_for("ann@example.org", rules) == 2 * DAY
    assert jitter_for("bob@example.com", rules) == 3 * DAY
    assert jitter_for("dave@x.org", rules) == 2 * DAY
    assert jitter_for("Bob@Example.com", rules) == 3 * DAY


def test_jitter_spreads_contacts_due_the_same_day() -> None:
    rules = Rules(max_drafts_per_day=100)
    contacts = [active(f"p{n}@x.org", days=93) for n in range(100)]  # all due within 3 days
    p = plan(contacts, [], rules, NOW)
    assert len(p.items) == 100
    days = {i.due_at.date() for i in p.items if i.due_at}
    assert len(days) >= 3
    assert all(NOW - 3 * DAY <= i.due_at <= NOW for i in p.items if i.due_at)
    assert any("spread" in i.reason for i in p.items)
    assert {i.due_at for i in plan(contacts, [], R, NOW).items} == {NOW - 3 * DAY}


# --- next_due ------------------------------------------------------------------


def test_next_due_matches_plan() -> None:
    rules = Rules(tiers=TIERS)
    contacts = [
        active("a@x.org", days=100),
        active("b@x.org", days=40, tier="inner"),
        active("c@x.org", days=200, cadence="2w"),
        seed("s@x.org"),
        seed("t@x.org", last=40, first=60),
    ]
    written = [draft("c@x.org", written=NOW - 20 * DAY), draft("x@x.org")]
    p = plan(contacts, written, rules, NOW)
    by_email = {c.email: c for c in contacts}
    assert {i.kind for i in p.items} == set(DRAFT_KINDS)
    for item in p.items:
        mine = [d for d in written if d.email == item.email]
        assert next_due(by_email[item.email], mine, rules, NOW) == item.due_at


def test_next_due_in_the_future_and_none() -> None:
    assert next_due(active(days=30), [], R, NOW) == NOW + 60 * DAY
    assert next_due(seed(last=2), [], R, NOW) == NOW + 12 * DAY
    # the window closes (day 90) before the follow-up would come (day 91): never
    assert next_due(seed(first=80, last=3), [], R, NOW) is None
    assert next_due(seed(first=200), [], R, NOW) is None  # not new
    # a cadence longer than the dormancy: dormant before it is ever due
    assert next_due(active(days=10, cadence="2y"), [], R, NOW) is None
    # drafts for other contacts passed by mistake are ignored
    assert next_due(active(days=30), [draft("else@x.org")], R, NOW) == NOW + 60 * DAY


# --- any input -----------------------------------------------------------------

_EMAILS = st.sampled_from([f"{n}@x.org" for n in "abcdefghij"])
_DATE = st.builds(
    lambda days, secs: iso(NOW + timedelta(days=days, seconds=secs)),
    st.integers(-120, 10) | st.integers(-800, 60),  # mostly recent: seeds need it
    st.integers(0, 86399),
)
_MAYBE_DATE = st.none() | _DATE | st.just("not a date")
_CONTACT = st.builds(
    Contact,
    email=_EMAILS,
    name=st.none() | st.just("Ann"),
    status=st.sampled_from([*STATUSES, "unknown", "seed", "seed", "seed"]),
    tier=st.sampled_from([None, None, None, "inner", "network", "nowhere"]),
    tags=st.sampled_from([(), (), (), ("friend",)]),
    cadence=st.sampled_from([None, "30d", "2w", "1y", "soon", "0d", "12h"]),
    first_seen=_MAYBE_DATE,
    last_inbound=_MAYBE_DATE,
    last_outbound=_MAYBE_DATE,
    messages_in=st.integers(0, 5),
    messages_out=st.integers(0, 5),
    recent_out=st.lists(_DATE, max_size=5).map(lambda xs: tuple(sorted(xs, reverse=True))),
    snoozed_until=_MAYBE_DATE,
)
_DRAFT = st.builds(
    DraftRecord,
    key=st.just("k"),
    email=_EMAILS,
    kind=st.sampled_from(["reconnect", "seed", "digest", "introduction"]),
    written_at=_DATE | st.just("garbage"),
)
_RULES = st.builds(
    Rules,
    tiers=st.just(TIERS),
    max_drafts_per_day=st.integers(0, 4),
    weekdays_only=st.booleans(),
    timezone=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Pacific/Kiritimati"]),
    jitter=st.sampled_from([timedelta(0), 3 * DAY, 7 * DAY]),
    one_sided_after=st.integers(1, 4),
)
_NOW = st.builds(lambda hours: NOW + timedelta(hours=hours), st.integers(-24 * 30, 24 * 30))


@settings(max_examples=300, deadline=None)
@given(
    contacts=st.lists(_CONTACT, max_size=10, unique_by=lambda c: c.email),
    drafts=st.lists(_DRAFT, max_size=10),
    rules=_RULES,
    now=_NOW,
)
def test_plan_holds_for_any_input(
    contacts: list[Contact], drafts: list[DraftRecord], rules: Rules, now: datetime
) -> None:
    p = plan(contacts, drafts, rules, now)
    by_email = {c.email: c for c in contacts}
    hidden = {c.email for c in contacts if c.status in ("weeded", "ignored")}
    assert not hidden & {i.email for i in p.items}
    assert len(p.to_draft) <= max(0, rules.max_drafts_per_day - p.drafts_today)

    groups = {"reconnect": 0, "seed": 0, "reply_owed": 1, "dormant": 2, "one_sided": 3}
    order = [groups[i.kind] for i in p.items]
    assert order == sorted(order)
    overdue = [i.overdue_days for i in p.items if i.kind in DRAFT_KINDS]
    assert overdue == sorted(overdue, reverse=True)

    for item in p.items:
        assert item.kind in KINDS
        if item.kind in DRAFT_KINDS:
            assert item.due_at is not None and item.due_at <= p.now
            assert item.overdue_days == (p.now - item.due_at).days
            assert item.key == f"{item.kind}:{item.email}:{item.due_at.date().isoformat()}"
            assert item.draft == (item.hold is None)
            assert item.hold in (
                None,
                HOLD_WEEKEND,
                f"daily maximum reached ({rules.max_drafts_per_day})",
            )
            mine = [d for d in drafts if d.email == item.email]
            assert next_due(by_email[item.email], mine, rules, now) == item.due_at
        elif item.kind == "reply_owed":
            assert (item.draft, item.hold, item.key) == (False, HOLD_REPLY, None)
            assert item.due_at is not None and item.due_at <= p.now
        else:
            assert (item.draft, item.due_at, item.key, item.overdue_days) == (False, None, None, 0)

    for c in contacts:  # the listing's combined form says what the two separate ones say
        mine = [d for d in drafts if d.email == c.email]
        assert status_and_next_due(c, mine, rules, now) == (
            effective_status(c, rules, now),
            next_due(c, mine, rules, now),
        )
