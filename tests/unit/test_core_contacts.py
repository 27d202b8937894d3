"""The pure fold of interactions into contacts, and name resolution."""

from __future__ import annotations

import dataclasses
import random
import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailer.core.contacts import RECENT_OUT, Tallies, fold
from mailer.core.naming import resolve
from mailer.model import Contact, Interaction

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def it(
    email: str,
    days: int,
    direction: str = "in",
    name: str | None = None,
    subject: str | None = None,
) -> Interaction:
    return Interaction(email, name, T0 + timedelta(days=days), direction, subject)  # type: ignore[arg-type]


def test_fold_counts_dates_and_latest_name() -> None:
    out = fold(
        {},
        [
            it("a@x.org", 5, "in", "Ann", "hi"),
            it("a@x.org", 9, "out", None, "re: hi"),
            it("a@x.org", 1, "in", "Annie"),
        ],
    )
    a = out["a@x.org"]
    assert (a.messages_in, a.messages_out) == (2, 1)
    assert a.first_seen == "2025-01-02T00:00:00Z"
    assert a.last_inbound == "2025-01-06T00:00:00Z"
    assert a.last_outbound == "2025-01-10T00:00:00Z"
    assert a.last_contact == a.last_outbound
    assert a.name == "Ann"  # the newest name, not the last one folded
    assert a.last_subject == "re: hi"
    assert a.status == "seed"


def test_fold_keeps_owner_fields_and_fixed_name() -> None:
    existing = {
        "a@x.org": Contact(
            "a@x.org", name="Dr. A", name_fixed=True, tier="inner", tags=("ml",), trust=3
        )
    }
    a = fold(existing, [it("a@x.org", 3, "in", "Someone Else")])["a@x.org"]
    assert (a.name, a.tier, a.tags, a.trust, a.messages_in) == ("Dr. A", "inner", ("ml",), 3, 1)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a@x.org", "b@x.org", "c@y.org"]),
            st.integers(0, 400),
            st.sampled_from(["in", "out"]),
            st.sampled_from([None, "Ann", "Bob", "Zoë"]),
            st.sampled_from([None, "s1", "s2"]),
        ),
        max_size=40,
    ),
    st.randoms(),
)
def test_fold_is_independent_of_order_and_batching(rows: list, rnd: random.Random) -> None:
    items = [it(e, d, dr, n, s) for e, d, dr, n, s in rows]
    whole = fold({}, items)
    shuffled = items[:]
    rnd.shuffle(shuffled)
    cut = rnd.randint(0, len(shuffled))
    partial = fold({}, shuffled[:cut])
    merged = {**partial, **fold(partial, shuffled[cut:])}
    assert merged == whole


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a@x.org", "b@x.org", "alias@y.org"]),
            st.integers(0, 400),
            st.sampled_from(["in", "out", "out", "group"]),
            st.sampled_from([None, "Ann", "Bob"]),
            st.sampled_from([None, "s1", "s2"]),
        ),
        max_size=60,
    ),
    st.randoms(),
)
def test_tallies_added_in_pieces_and_renamed_fold_as_one(rows: list, rnd: random.Random) -> None:
    # a scan tallies chunk by chunk and counts an alias's mail for its contact
    items = [it(e, d, dr, n, s) for e, d, dr, n, s in rows]
    existing = {"a@x.org": Contact("a@x.org", aliases=("alias@y.org",))}
    renamed = [
        dataclasses.replace(i, email="a@x.org") if i.email == "alias@y.org" else i for i in items
    ]
    tallies = Tallies()
    rnd.shuffle(items)
    for start in range(0, len(items), 7):
        tallies.add(items[start : start + 7])
    assert tallies.renamed({"alias@y.org": "a@x.org"}).apply(existing) == fold(existing, renamed)


def test_a_tally_keeps_only_the_outbound_times_that_can_count() -> None:
    outs = [it("a@x.org", d, "out") for d in range(500)]
    tallies = Tallies()
    tallies.add(outs)
    assert len(tallies.people["a@x.org"].outs) <= 4 * RECENT_OUT + 1
    recent = tallies.apply({})["a@x.org"].recent_out
    assert recent == fold({}, outs[-RECENT_OUT:])["a@x.org"].recent_out
    assert len(recent) == RECENT_OUT and recent[0] == "2026-05-15T00:00:00Z"


def test_resolve_by_address_name_and_part() -> None:
    people = [
        Contact("anna@x.org", name="Anna Berg"),
        Contact("ann@y.org", name="Ann Lee"),
        Contact("bob@z.org", name="Bob"),
    ]
    assert resolve(people, "ANNA@x.org").email == "anna@x.org"
    assert resolve(people, "bob").email == "bob@z.org"
    assert resolve(people, "Ann Lee").email == "ann@y.org"
    assert resolve(people, "berg").email == "anna@x.org"
    assert resolve(people, "ann").email == "ann@y.org"  # a first name before a part of one
    with pytest.raises(
        LookupError, match=re.escape("ambiguous: Anna Berg <anna@x.org>, Ann Lee <ann@y.org>")
    ):
        resolve(people, "an")
    with pytest.raises(LookupError, match="no contact"):
        resolve(people, "nobody@x.org")


def test_tags_are_kept_lower_case_sorted_and_once() -> None:
    from mailer.core.contacts import tag_list

    assert tag_list(" AI, berlin,ai,, Climbing ") == ("ai", "berlin", "climbing")
    assert tag_list("") == ()


@pytest.mark.parametrize("inbound", [None, "", "2024-01-02T00:00:00Z", "2024-03-01T00:00:00Z"])
@pytest.mark.parametrize("outbound", [None, "", "2024-01-02T00:00:00Z", "2024-02-01T00:00:00Z"])
@pytest.mark.parametrize("logged", [None, "", "2024-01-01T00:00:00Z", "2024-05-01T00:00:00Z"])
def test_last_contact_is_the_newest_of_the_three(
    inbound: str | None, outbound: str | None, logged: str | None
) -> None:
    c = Contact("a@x.example", last_inbound=inbound, last_outbound=outbound, last_logged=logged)
    newest = max(inbound or "", outbound or "", logged or "") or None
    assert c.last_contact == newest


@pytest.mark.parametrize("inbound", [None, "", "2024-01-02T00:00:00Z", "2024-03-01T00:00:00Z"])
@pytest.mark.parametrize("logged", [None, "", "2024-01-01T00:00:00Z", "2024-02-15T00:00:00Z"])
def test_outbound_unanswered_counts_what_came_after_their_last_answer(
    inbound: str | None, logged: str | None
) -> None:
    out = ("2024-04-01T00:00:00Z", "2024-02-20T00:00:00Z", "2024-02-01T00:00:00Z")
    c = Contact("a@x.example", last_inbound=inbound, last_logged=logged, recent_out=out)
    answered = max(inbound or "", logged or "")
    assert c.outbound_unanswered == sum(t > answered for t in out)
