"""The relationship model: one lane per contact, rhythm and strength, and the plan of drafts.

The lanes are checked three ways: a table of one contact per lane and per
precedence step; the failures seen on real mail that this model replaced
(each test would fail on the rule code before it); and properties over any
contact, history, rules and `now`, against an oracle written here from the
SPEC's words rather than from the code.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailer.core import history
from mailer.core.contacts import fold
from mailer.core.plan import HOLD_REPLY, HOLD_WEEKEND, KINDS, Plan, draft_email, plan
from mailer.core.rules import (
    DRAFT_KINDS,
    LANES,
    NOTHING,
    Drafted,
    judge,
    judge_all,
    seeds_to_triage,
)
from mailer.core.ruleset import DEFAULT_TIERS, Rules, about, cadence_for, jitter_for
from mailer.model import STATUSES, Contact, DraftRecord, Interaction, iso
from tests.support.clock import NOW

DAY = timedelta(days=1)
R = Rules(jitter=timedelta(0))  # no jitter: due dates are exact


def ago(days: float, now: datetime = NOW) -> str:
    return iso(now - timedelta(days=days)) or ""


def active(email: str = "ann@x.org", days: float = 100, now: datetime = NOW, **kw: Any) -> Contact:
    """Triaged (stored active); we wrote last, `days` ago, so no reply is owed."""
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
    """An untriaged two-way seed: first seen `first` days ago, we answered `last` days ago."""
    fields: dict[str, Any] = {
        "first_seen": ago(first),
        "last_inbound": ago(last + 0.5),
        "last_outbound": ago(last),
        "messages_in": 1,
        "messages_out": 1,
    }
    fields.update(kw)
    return Contact(email=email, **fields)


def written(email: str, kind: str = "reconnect", when: datetime = NOW, **kw: Any) -> DraftRecord:
    key = f"{kind}:{email}:{when.date().isoformat()}"
    return DraftRecord(key=key, email=email, kind=kind, written_at=iso(when) or "", **kw)


def lane(c: Contact, rules: Rules = R, now: datetime = NOW, drafted: Drafted = NOTHING) -> str:
    return judge(c, drafted, rules, now).lane


def run(
    *contacts: Contact,
    drafts: tuple[DraftRecord, ...] = (),
    rules: Rules = R,
    now: datetime = NOW,
    open_keys: frozenset[str] = frozenset(),
) -> Plan:
    return plan(contacts, drafts, rules, now, open_keys)


def kinds(p: Plan) -> list[tuple[str, str]]:
    return [(i.email, i.kind) for i in p.items]


def with_history(c: Contact, mail: list[tuple[float, str]]) -> Contact:
    """`c` with its counts, dates and history folded from (days ago, "in"|"out") pairs."""
    base = dataclasses.replace(
        c,
        first_seen=None,
        last_inbound=None,
        last_outbound=None,
        messages_in=0,
        messages_out=0,
        recent_out=(),
    )
    its = [Interaction(c.email, c.name, NOW - timedelta(days=d), way) for d, way in mail]  # type: ignore[arg-type]
    return fold({c.email: base}, its)[c.email]


# --- one lane each, in order of precedence -------------------------------------------------


LANE_TABLE = [
    # (what, contact, lane)
    ("weeded", active(days=200, status="weeded"), "pruned"),
    ("ignored, even with a reply owed", active(status="ignored", last_inbound=ago(10)), "pruned"),
    (
        "they wrote, we never did",
        Contact("in@x.org", last_inbound=ago(10), messages_in=4),
        "inbound_only",
    ),
    (
        "inbound only outranks a tier",
        Contact("t@x.org", tier="inner", last_inbound=ago(40), messages_in=1),
        "inbound_only",
    ),
    (
        "their message waits 10 days",
        active(last_inbound=ago(10), last_outbound=ago(40)),
        "owe_reply",
    ),
    (
        "owed outranks a snooze",
        active(last_inbound=ago(10), last_outbound=ago(40), snoozed_until=iso(NOW + 9 * DAY)),
        "owe_reply",
    ),
    ("snoozed", active(days=200, snoozed_until=iso(NOW + DAY)), "snoozed"),
    (
        "snoozed outranks one-sided",
        active(
            days=5,
            last_inbound=ago(300),
            recent_out=(ago(5), ago(50), ago(100)),
            snoozed_until=iso(NOW + DAY),
        ),
        "snoozed",
    ),
    (
        "three unanswered",
        active(days=5, last_inbound=ago(300), recent_out=(ago(5), ago(50), ago(100))),
        "one_sided",
    ),
    (
        "one-sided whatever the status",
        seed(
            first=30,
            last=2,
            last_inbound=None,
            messages_in=0,
            recent_out=(ago(2), ago(10), ago(20)),
        ),
        "one_sided",
    ),
    ("new two-way seed", seed(), "new"),
    (
        "a new seed waiting for its answer is new, not owed yet",
        seed(last=3, last_inbound=ago(2)),
        "new",
    ),
    ("cadence passed", active(days=100), "due"),
    ("cadence not passed", active(days=30), "quiet"),
    ("silent a year, a real tie", active(days=400), "rekindle"),
    (
        "silent a year, an old untriaged established seed",
        seed(first=900, last=400, messages_in=3, messages_out=3),
        "rekindle",
    ),
    ("silent a year, too little between you", seed(first=500, last=400), "quiet"),
    (
        "we wrote once, no answer yet",
        Contact("o@x.org", last_outbound=ago(30), messages_out=1, recent_out=(ago(30),)),
        "quiet",
    ),
    ("an address-book entry without mail", Contact("a@x.org", tier="inner"), "quiet"),
]


@pytest.mark.parametrize(
    ("what", "contact", "expected"), LANE_TABLE, ids=[t[0] for t in LANE_TABLE]
)
def test_each_lane(what: str, contact: Contact, expected: str) -> None:
    assert lane(contact) == expected, what


def test_every_lane_is_in_the_table() -> None:
    assert {t[2] for t in LANE_TABLE} == set(LANES)


def test_lanes_and_kinds_are_the_contract_names() -> None:
    assert LANES == (
        "pruned",
        "inbound_only",
        "owe_reply",
        "snoozed",
        "one_sided",
        "new",
        "due",
        "rekindle",
        "quiet",
    )
    assert DRAFT_KINDS == ("reconnect", "seed", "rekindle")


# --- the failures this model replaced (each fails on the rule code before it) --------------


def test_a_reply_owed_is_never_drafted_nor_listed_twice() -> None:
    # Their message has waited 60 days; the cadence (30d) passed long ago.
    c = active(tier="inner", last_inbound=ago(60), last_outbound=ago(100))
    p = run(c)
    assert kinds(p) == [("ann@x.org", "reply_owed")]
    assert p.to_draft == []
    # 100 days: past rules.reply_owed_window (90d), it is one thing again: due.
    old = active(tier="inner", last_inbound=ago(100), last_outbound=ago(140))
    assert kinds(run(old)) == [("ann@x.org", "reconnect")]


def test_a_seed_with_four_unanswered_mails_is_a_weed_candidate() -> None:
    c = seed(
        first=60,
        last=3,
        last_inbound=None,
        messages_in=0,
        messages_out=4,
        recent_out=(ago(3), ago(20), ago(40), ago(60)),
    )
    p = run(c)
    assert [(i.email, i.kind, i.lane) for i in p.weed] == [("sam@x.org", "one_sided", "one_sided")]
    assert p.to_draft == []


def test_an_older_untriaged_seed_is_judged_like_an_active_contact_and_offered_for_triage() -> None:
    old = seed(first=200, last=95)  # one mail each way, outside the seed window
    p = run(old)
    assert kinds(p) == [("sam@x.org", "reconnect")] and p.to_draft
    assert [c.email for c in seeds_to_triage(p.lanes)] == ["sam@x.org"]
    assert seeds_to_triage(p.lanes, only_new=True) == []  # the digest lists only new ones


def test_an_active_contact_silent_for_a_year_is_rekindled_not_dropped() -> None:
    c = active(days=400)
    j = judge(c, NOTHING, R, NOW)
    assert (j.lane, j.status, j.kind) == ("rekindle", "dormant", "rekindle")
    p = run(c)
    assert [(i.kind, i.draft) for i in p.items] == [("rekindle", True)]
    assert [i.email for i in p.weed] == ["ann@x.org"]  # and proposed for weeding


def test_inbound_only_senders_are_not_relationships() -> None:
    senders = [
        Contact(f"n{n}@x.org", last_inbound=ago(n), first_seen=ago(n), messages_in=n + 1)
        for n in range(1, 30, 3)
    ]
    p = run(*senders, rules=dataclasses.replace(R, default_cadence=2 * DAY))
    assert p.items == []
    assert {j.lane for j in p.lanes.values()} == {"inbound_only"}
    assert not any(j.listed or j.introducible for j in p.lanes.values())


def test_the_spec_tiers_are_the_default() -> None:
    assert dict(Rules().tiers) == dict(DEFAULT_TIERS)
    assert DEFAULT_TIERS == {"inner": 30 * DAY, "network": 90 * DAY, "loose": 180 * DAY}
    assert cadence_for(active(tier="inner"), Rules()) == (30 * DAY, "tier inner")


def test_no_second_draft_while_the_first_still_waits_in_drafts() -> None:
    c = active(days=120)
    first = written("ann@x.org", when=NOW - 91 * DAY)  # a cycle ago, never sent
    waiting = run(c, drafts=(first,), open_keys=frozenset({first.key}))
    (item,) = waiting.items
    assert (item.kind, item.draft) == ("reconnect", False)
    assert item.hold == f"your draft of {(NOW - 91 * DAY).date()} still waits in Drafts"
    # Deleted unsent: it kept them quiet for one cycle; now a new draft is due.
    assert [i.draft for i in run(c, drafts=(first,)).items] == [True]
    # Mail exchanged since the draft: the old draft is stale, not a reason to wait.
    talked = active(days=91 - 1, last_outbound=ago(200), last_inbound=ago(90))
    assert run(talked, drafts=(first,), open_keys=frozenset({first.key})).to_draft != []


# --- rhythm and strength -------------------------------------------------------------------


def every(days: int, n: int, start: int = 0) -> list[tuple[float, str]]:
    """n messages, alternating in and out, `days` apart, the newest `start` days ago."""
    return [(start + k * days, "in" if k % 2 else "out") for k in range(n)]


def test_the_rhythm_is_learned_from_the_mail_per_month() -> None:
    c = with_history(seed(first=500), every(21, 20, start=70))
    assert c.gap_days is not None and 18 <= c.gap_days <= 25
    j = judge(c, NOTHING, R, NOW)
    assert j.lane == "due"
    assert j.reason.startswith("you usually write every ~3 weeks; it has been 10 weeks")
    assert "due after 63d (rhythm: 3 x ~3 weeks)" in j.reason or "rhythm" in j.reason
    assert j.cadence == timedelta(days=round(c.gap_days * 3))


def test_the_rhythm_is_bounded_by_min_cadence_and_the_default() -> None:
    daily = with_history(seed(first=500), every(2, 40, start=25))
    cadence, source = cadence_for(daily, R)
    assert cadence == R.min_cadence and "at least rules.min_cadence 21d" in source
    rare = with_history(seed(first=900), every(60, 10, start=10))
    cadence, source = cadence_for(rare, R)
    assert cadence == R.default_cadence and "at most the default 90d" in source


def test_too_little_history_means_the_default_cadence() -> None:
    c = with_history(seed(first=400), [(200, "in"), (199, "out")])
    assert c.gap_days is None
    assert cadence_for(c, R) == (R.default_cadence, "default")
    assert judge(c, NOTHING, R, NOW).rhythm_days is None


def test_a_tier_or_own_cadence_outranks_the_rhythm() -> None:
    c = with_history(seed(first=500, tier="loose"), every(7, 30, start=10))
    assert cadence_for(c, R) == (180 * DAY, "tier loose")
    own = dataclasses.replace(c, cadence="45d")
    assert cadence_for(own, R) == (45 * DAY, "set for this contact")


def test_strength_grows_with_recent_frequent_two_way_mail() -> None:
    base = seed(first=900)
    strong = with_history(base, every(10, 40, start=5))
    faded = with_history(base, every(10, 40, start=700))
    one_way = with_history(base, [(5 + k * 10, "out") for k in range(40)])
    few = with_history(base, every(30, 3, start=5))
    s = {n: judge(c, NOTHING, R, NOW).strength for n, c in locals().items() if n != "base"}
    assert all(0 <= v <= 100 for v in s.values())
    assert s["strong"] > s["few"] > s["faded"]
    assert s["strong"] > s["one_way"]
    assert s["strong"] >= 80 and s["faded"] < 30


def test_history_is_order_independent_and_bounded() -> None:
    its = [
        Interaction("a@x.org", None, NOW - timedelta(days=d), "in" if d % 3 else "out")
        for d in range(0, 20 * 365, 5)
    ]
    forward = fold({}, its)["a@x.org"]
    backward = fold({}, list(reversed(its)))["a@x.org"]
    halves = fold(fold({}, its[::2]), its[1::2])["a@x.org"]
    assert forward == backward == halves
    assert len(forward.months.split()) == history.MAX_MONTHS
    assert forward.months.split()[-1].startswith("2026-03")


def test_the_sparkline_shows_24_months() -> None:
    c = with_history(seed(first=900), every(10, 30, start=3))
    line = history.sparkline(c.months, NOW)
    assert len(line) == 24 and line[-1] != history.NONE_BAR and line[0] == history.NONE_BAR
    assert history.sparkline("", NOW) == history.NONE_BAR * 24


@pytest.mark.parametrize(
    ("days", "said"),
    [
        (1, "1 day"),
        (5, "5 days"),
        (21, "3 weeks"),
        (70, "10 weeks"),
        (100, "3 months"),
        (400, "13 months"),
        (800, "2 years"),
    ],
)
def test_about(days: float, said: str) -> None:
    assert about(days) == said


# --- the plan: order, daily maximum, rekindles, holds --------------------------------------


def test_most_overdue_first_then_the_stronger_tie() -> None:
    weak = with_history(active("weak@x.org", tier="network"), every(30, 4, start=100))
    strong = with_history(active("strong@x.org", tier="network"), every(5, 40, start=100))
    older = active("older@x.org", days=130, tier="network")
    p = run(weak, strong, older, rules=dataclasses.replace(R, max_drafts_per_day=10))
    assert [i.email for i in p.items] == ["older@x.org", "strong@x.org", "weak@x.org"]


def test_daily_maximum_counts_drafts_of_today_in_the_configured_zone() -> None:
    now = datetime(2026, 3, 4, 23, 30, tzinfo=UTC)  # Thursday 00:30 in Berlin
    due = [active(f"p{n}@x.org", days=100 + n, now=now) for n in range(4)]
    drafts = (
        written("o1@x.org", when=datetime(2026, 3, 4, 23, 10, tzinfo=UTC)),  # Berlin: today
        written("o2@x.org", when=datetime(2026, 3, 4, 22, 50, tzinfo=UTC)),  # Berlin: yesterday
        written("o3@x.org", "introduction", datetime(2026, 3, 4, 23, 15, tzinfo=UTC)),  # asked for
        written("o4@x.org", "reconnect", datetime(2026, 3, 4, 23, 16, tzinfo=UTC), error="bad"),
    )
    berlin = Rules(jitter=timedelta(0), max_drafts_per_day=3, timezone="Europe/Berlin")
    p = plan(due, drafts, berlin, now)
    assert p.drafts_today == 1  # failures and introductions do not count
    assert [(i.email, i.draft, i.hold) for i in p.items] == [
        ("p3@x.org", True, None),
        ("p2@x.org", True, None),
        ("p1@x.org", False, "daily maximum reached (3)"),
        ("p0@x.org", False, "daily maximum reached (3)"),
    ]


@pytest.mark.parametrize(
    ("now", "zone", "weekend"),
    [
        (datetime(2026, 3, 6, 23, 30, tzinfo=UTC), "Europe/Berlin", True),  # Sat 00:30 there
        (datetime(2026, 3, 6, 23, 30, tzinfo=UTC), "UTC", False),
        (datetime(2026, 3, 7, 2, 0, tzinfo=UTC), "America/New_York", False),  # Fri 21:00 there
        (datetime(2026, 3, 8, 23, 30, tzinfo=UTC), "Europe/Berlin", False),  # Monday there
    ],
)
def test_weekdays_only_uses_the_local_day(now: datetime, zone: str, weekend: bool) -> None:
    contacts = [active(f"p{n}@x.org", days=100, now=now) for n in range(3)]
    p = plan(contacts, [], Rules(jitter=timedelta(0), timezone=zone, max_drafts_per_day=1), now)
    if weekend:
        assert {(i.draft, i.hold) for i in p.items} == {(False, HOLD_WEEKEND)}
    else:
        assert [i.draft for i in p.items] == [True, False, False]


def test_rekindles_are_rationed_per_week_strongest_first_inside_the_daily_maximum() -> None:
    dormant = [
        with_history(active(f"d{n}@x.org"), every(20, 5 + 10 * n, start=400)) for n in range(4)
    ]
    rules = dataclasses.replace(R, max_drafts_per_day=10, rekindle_per_week=2)
    p = run(*dormant, active("due@x.org", days=100), rules=rules)
    drafted = [(i.email, i.kind) for i in p.to_draft]
    assert drafted == [
        ("due@x.org", "reconnect"),
        ("d3@x.org", "rekindle"),
        ("d2@x.org", "rekindle"),
    ]
    held = {i.email: i.hold for i in p.held}
    assert held == dict.fromkeys(
        ["d1@x.org", "d0@x.org"], "at most 2 rekindles a week (rules.rekindle_per_week)"
    )
    # two written in the last 7 days: none this week
    done = tuple(written(f"x{n}@x.org", "rekindle", NOW - 2 * DAY) for n in range(2))
    assert [i.kind for i in run(*dormant, drafts=done, rules=rules).to_draft] == []
    # and the daily maximum holds them as it holds any draft
    tight = dataclasses.replace(rules, max_drafts_per_day=1)
    assert [
        i.email for i in run(*dormant, active("due@x.org", days=100), rules=tight).to_draft
    ] == ["due@x.org"]


def test_a_rekindle_draft_keeps_the_contact_quiet_for_a_dormancy_period() -> None:
    c = active(days=400)
    drafts = (written("ann@x.org", "rekindle", NOW - 30 * DAY),)
    j = judge_all([c], drafts, R, NOW)["ann@x.org"]
    assert j.lane == "rekindle" and j.due_at == NOW - 30 * DAY + R.dormancy
    assert run(c, drafts=drafts).to_draft == []


def test_no_note_right_after_a_group_mail() -> None:
    c = active(days=100, last_group=ago(5))
    (item,) = run(c).items
    assert item.hold == f"you wrote to them and many others on {ago(5)[:10]}"
    assert run(active(days=100, last_group=ago(30))).to_draft != []


def test_an_unusable_address_is_not_retried_each_run() -> None:
    c = active(days=100)
    failed = written("ann@x.org", when=NOW - DAY, error="address cannot be used")
    j = judge_all([c], [failed], R, NOW)["ann@x.org"]
    assert j.lane == "quiet" and "could not be written" in j.reason
    assert run(c, drafts=(failed,)).to_draft == []


def test_seed_follow_up_once_and_only_when_ours_is_last() -> None:
    assert kinds(run(seed())) == [("sam@x.org", "seed")]
    assert run(seed(last=13)).items == []
    assert run(seed(), drafts=(written("sam@x.org", "seed", NOW - 5 * DAY),)).items == []
    theirs = seed(last=15, last_inbound=ago(3))  # their answer is the newest and fresh
    assert run(theirs).items == []


def test_snooze_moves_nothing_but_hides_the_draft() -> None:
    until = NOW + 5 * DAY
    c = active(days=100, snoozed_until=iso(until))
    assert run(c).items == []
    assert [i.kind for i in run(c, now=until).items] == ["reconnect"]


# --- keys, jitter, time ------------------------------------------------------------------------


def test_key_is_stable_and_names_the_kind_and_contact() -> None:
    (item,) = run(active(days=100)).items
    assert item.key == f"reconnect:ann@x.org:{(NOW - 10 * DAY).date()}"
    assert draft_email(item.key) == ("reconnect", "ann@x.org")
    assert draft_email("digest:2026-03-04") is None
    assert draft_email("introduction:a@x:b@x:2026-03-04") is None


def test_now_in_another_zone_is_the_same_instant() -> None:
    berlin = NOW.astimezone(ZoneInfo("Europe/Berlin"))
    assert kinds(run(active(days=100), now=berlin)) == kinds(run(active(days=100)))


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        run(active(), now=NOW.replace(tzinfo=None))


def test_jitter_is_whole_days_in_range_and_the_same_in_every_process() -> None:
    wide = Rules(jitter=7 * DAY)
    assert {jitter_for(f"p{n}@x.org", wide).days for n in range(1000)} == set(range(8))
    assert jitter_for("ann@example.org", Rules(jitter=timedelta(0))) == timedelta(0)
    rules = Rules(jitter=3 * DAY)
    assert jitter_for("Bob@Example.com", rules) == jitter_for("bob@example.com", rules)
    # pinned: crc32 of the address, not Python's salted hash(): every process agrees
    assert [
        jitter_for(e, rules).days for e in ("ann@example.org", "bob@example.com", "dave@x.org")
    ] == [0, 2, 3]


# --- any input --------------------------------------------------------------------------------

_EMAILS = st.sampled_from([f"{n}@x.org" for n in "abcdefghij"])
_DATE = st.builds(
    lambda days, secs: iso(NOW + timedelta(days=days, seconds=secs)),
    st.integers(-120, 10) | st.integers(-800, 60),
    st.integers(0, 86399),
)
_MAYBE_DATE = st.none() | _DATE | st.just("not a date")
_HISTORY = st.lists(
    st.tuples(st.integers(0, 1500), st.sampled_from(["in", "out"])), max_size=30
).map(lambda mail: history.dump(history.counts((NOW - timedelta(days=d), way) for d, way in mail)))


@st.composite
def _contacts(draw: st.DrawFn, max_size: int = 10) -> list[Contact]:
    """Contacts with distinct addresses. The addresses are drawn first: a list of whole
    contacts unique by address threw away every contact drawn with a taken address."""
    return [
        draw(_contact(email)) for email in draw(st.lists(_EMAILS, unique=True, max_size=max_size))
    ]


@st.composite
def _contact(draw: st.DrawFn, email: str) -> Contact:
    months = draw(_HISTORY)
    s = history.summarize(months)
    return Contact(
        email=email,
        name=draw(st.none() | st.just("Ann")),
        status=draw(st.sampled_from([*STATUSES, "unknown", "seed", "seed", "seed"])),
        tier=draw(st.sampled_from([None, None, None, "inner", "network", "nowhere"])),
        tags=draw(st.sampled_from([(), (), (), ("friend",)])),
        cadence=draw(st.sampled_from([None, None, "30d", "2w", "1y", "soon", "0d"])),
        first_seen=draw(_MAYBE_DATE),
        last_inbound=draw(_MAYBE_DATE),
        last_outbound=draw(_MAYBE_DATE),
        last_logged=draw(st.none() | st.none() | _DATE),
        last_group=draw(st.none() | _DATE),
        messages_in=draw(st.integers(0, 5)),
        messages_out=draw(st.integers(0, 5)),
        recent_out=draw(
            st.lists(_DATE, max_size=5).map(lambda xs: tuple(sorted(xs, reverse=True)))
        ),
        snoozed_until=draw(_MAYBE_DATE),
        months=months,
        gap_days=s.gap_days,
        weight_at=s.weight_at,
        weight_in=s.weight_in,
        weight_out=s.weight_out,
    )


_DRAFT = st.builds(
    lambda email, kind, when, error: DraftRecord(
        f"{kind}:{email}:{(when or 'x')[:10]}", email, kind, when or "garbage", error=error
    ),
    _EMAILS,
    st.sampled_from(["reconnect", "seed", "rekindle", "digest", "introduction"]),
    _DATE | st.none(),
    st.none() | st.none() | st.just("bad address"),
)
_RULES = st.builds(
    Rules,
    max_drafts_per_day=st.integers(0, 4),
    weekdays_only=st.booleans(),
    timezone=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Pacific/Kiritimati"]),
    jitter=st.sampled_from([timedelta(0), 3 * DAY, 7 * DAY]),
    one_sided_after=st.integers(1, 4),
    rekindle_per_week=st.integers(0, 3),
    min_cadence=st.sampled_from([14 * DAY, 21 * DAY]),
    default_cadence=st.sampled_from([21 * DAY, 90 * DAY]),
)
_NOW = st.builds(lambda hours: NOW + timedelta(hours=hours), st.integers(-24 * 30, 24 * 30))


def _t(text: str | None) -> datetime | None:
    """The oracle's own reading of a stored time: damaged values are absent."""
    try:
        return datetime.fromisoformat(text) if text else None  # type: ignore[arg-type]
    except ValueError:
        return None


def expected_lane(c: Contact, rules: Rules, now: datetime) -> str:
    """SPEC section 5 and the issue's words, written apart from the code."""
    li, lo, lg = _t(c.last_inbound), _t(c.last_outbound), _t(c.last_logged)
    answered = max([t for t in (lo, lg) if t], default=None)
    if c.status in ("weeded", "ignored"):
        return "pruned"
    if li is not None and answered is None:
        return "inbound_only"
    theirs_newest = li is not None and (answered is None or li > answered)
    if theirs_newest and rules.reply_owed_after <= now - li < rules.reply_owed_window:  # type: ignore[operator]
        return "owe_reply"
    snooze = _t(c.snoozed_until)
    if snooze is not None and snooze > now:
        return "snoozed"
    answered_iso = max(c.last_inbound or "", c.last_logged or "")
    if sum(t > answered_iso for t in c.recent_out) >= rules.one_sided_after:
        return "one_sided"
    return "other"  # new, due, rekindle or quiet: checked by the draft properties below


@settings(max_examples=400, deadline=None)
@given(
    contacts=_contacts(),
    drafts=st.lists(_DRAFT, max_size=10),
    rules=_RULES,
    now=_NOW,
    open_some=st.booleans(),
)
def test_exactly_one_lane_and_drafts_only_where_the_rules_allow(
    contacts: list[Contact], drafts: list[DraftRecord], rules: Rules, now: datetime, open_some: bool
) -> None:
    open_keys = frozenset(d.key for d in drafts[::2]) if open_some else frozenset()
    p = plan(contacts, drafts, rules, now, open_keys)
    assert set(p.lanes) == {c.email for c in contacts}  # every contact, once
    for c in contacts:
        j = p.lanes[c.email]
        assert j.lane in LANES and j.status in STATUSES
        want = expected_lane(c, rules, now)
        if want != "other":
            assert j.lane == want, (c, j.lane, want)
        else:
            assert j.lane in ("new", "due", "rekindle", "quiet"), (c, j.lane)
        assert isinstance(j.reason, str) and j.reason
        assert 0 <= j.strength <= 100

    assert len(p.to_draft) <= max(0, rules.max_drafts_per_day - p.drafts_today)
    drafted_rekindles = sum(i.kind == "rekindle" for i in p.to_draft)
    assert drafted_rekindles <= rules.rekindle_per_week
    for item in p.items:
        assert item.kind in KINDS
        j = p.lanes[item.email]
        c = j.contact
        if item.kind not in DRAFT_KINDS:
            assert not item.draft
            if item.kind == "reply_owed":
                assert (item.lane, item.hold, item.key) == ("owe_reply", HOLD_REPLY, None)
            continue
        # a draft kind: only from new, due or rekindle, and never while their fresh message waits
        assert item.lane in ("new", "due", "rekindle")
        assert item.due_at is not None and item.due_at <= p.now
        assert item.key == f"{item.kind}:{item.email}:{item.due_at.date().isoformat()}"
        assert item.draft == (item.hold is None)
        li = _t(c.last_inbound)
        answered = max([t for t in (_t(c.last_outbound), _t(c.last_logged)) if t], default=None)
        if li is not None and (answered is None or li > answered):
            assert p.now - li >= rules.reply_owed_window
        last = max([t for t in (li, answered) if t], default=None)
        assert last is not None
        if item.kind == "reconnect":  # due only past its cadence
            assert p.now - last >= cadence_for(c, rules)[0]
            assert item.lane == "due"
        waiting = [
            t
            for d in drafts
            if d.key in open_keys and d.email == item.email and d.kind in DRAFT_KINDS
            if not d.error and (t := _t(d.written_at)) is not None
        ]
        if item.draft and waiting:
            assert last > max(waiting)  # a waiting draft holds unless mail was exchanged since
