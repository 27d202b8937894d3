"""Naming a person: the one resolver the CLI, mailed commands and intros share, and the
tier check they share with the address book import. Pure: contacts in, a contact out."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailer.core.contacts import check_tier
from mailer.core.naming import Ambiguous, NotFound, Resolver, resolve
from mailer.model import Contact

JOSE = Contact("jose@alvarez.example", name="José Álvarez")
ZOE = Contact("zm@mueller.example", name="Zoë Müller")
WEISS = Contact("gw@weiss.example", name="Gerd Weiß")
ANNA_BERG = Contact("anna@a.example", name="Anna Berg")
ANNA_KIM = Contact("ak@k.example", name="Anna Kim")
KLEIN = Contact("klein@k.example", name="Kurt Klein", aliases=("kk@old.example",))
DANA = Contact("dana@d.example")  # no name: only her address names her
BOB = Contact("bob@b.example", name="Bob Stone")
PEOPLE = [JOSE, ZOE, WEISS, ANNA_BERG, ANNA_KIM, KLEIN, DANA, BOB]


@pytest.mark.parametrize(
    ("who", "found"),
    [
        # 1. the address: case and blanks around it aside
        ("jose@alvarez.example", JOSE),
        ("  KLEIN@K.Example ", KLEIN),
        # 2. an alias
        ("kk@old.example", KLEIN),
        ("KK@Old.Example", KLEIN),
        # 3. the whole name, accents and case aside
        ("José Álvarez", JOSE),
        ("jose alvarez", JOSE),
        ("zoe  muller", ZOE),
        ("GERD WEISS", WEISS),  # ß is ss
        # 4. the first name
        ("jose", JOSE),
        ("Zoe", ZOE),
        ("zoë", ZOE),
        ("gerd", WEISS),
        # 5. the address before the @
        ("zm", ZOE),
        ("dana", DANA),
        ("kk", KLEIN),  # an alias's too
        # 6. a part of the name, as before
        ("alvarez", JOSE),
        ("Álvarez", JOSE),
        ("weiss", WEISS),
        ("weiß", WEISS),
        ("anna b", ANNA_BERG),
        ("ob", BOB),  # anywhere in the name, for the CLI
    ],
)
def test_who_names_whom(who: str, found: Contact) -> None:
    assert resolve(PEOPLE, who) is found


def test_the_rules_are_tried_in_order() -> None:
    # An address wins over anyone whose name holds that text.
    named_after = Contact("other@o.example", name="jose@alvarez.example (old)")
    assert resolve([named_after, JOSE], "jose@alvarez.example") is JOSE
    # A whole name wins over a first name: "Anna" alone, though Anna Berg is Anna too.
    anna = Contact("solo@s.example", name="Anna")
    assert resolve([ANNA_BERG, anna], "anna") is anna
    # A first name wins over a part of a name ("ann" is in both, but only Ann's first name).
    ann = Contact("ann@l.example", name="Ann Lee")
    assert resolve([ANNA_BERG, ann], "ann") is ann
    # A first name wins over an address before the @ ...
    jo = Contact("jose@other.example", name="Maria Ruiz")
    assert resolve([jo, JOSE], "jose") is JOSE
    # ... which wins over a part of a name.
    ros = Contact("ros@r.example", name="Ros Ek")
    amb = Contact("amb@r.example", name="Ambrose Ek")
    assert resolve([amb, ros], "ros") is ros


def test_first_name_of_a_family_name_first_display_name() -> None:
    berg = Contact("ab@x.example", name="Berg, Anna")
    hanna = Contact("he@x.example", name="Hanna Ek")  # "anna" is in her name, not her first name
    assert resolve([hanna, berg], "anna") is berg


def test_letters_without_a_decomposition_are_folded_too() -> None:
    lukasz = Contact("l@p.example", name="Łukasz Østergård")
    assert resolve([lukasz, JOSE], "lukasz ostergard") is lukasz
    assert resolve([Contact("s@x.example", name="STRAẞE")], "strasse").email == "s@x.example"


def test_a_trailing_dot_is_another_address() -> None:
    with pytest.raises(NotFound) as e:
        resolve(PEOPLE, "klein@k.example.")
    assert str(e.value) == (
        "no contact 'klein@k.example.' (did you mean Kurt Klein <klein@k.example>?)"
    )


def test_ambiguous_lists_the_candidates() -> None:
    with pytest.raises(Ambiguous) as e:
        resolve(PEOPLE, "anna")
    assert str(e.value) == (
        "'anna' is ambiguous: Anna Berg <anna@a.example>, Anna Kim <ak@k.example>; use the address"
    )
    assert isinstance(e.value, LookupError)  # what every caller catches
    zoe_park = Contact("zp@p.example", name="Zoe Park")
    with pytest.raises(Ambiguous) as e:
        resolve([ZOE, zoe_park], "zoe")  # both are Zoe, typed without the accent
    assert str(e.value) == (
        "'zoe' is ambiguous: Zoë Müller <zm@mueller.example>, Zoe Park <zp@p.example>;"
        " use the address"
    )


def test_ambiguous_lists_ten_then_counts() -> None:
    many = [Contact(f"p{i}@x.example", name=f"Zoë Doe{i}") for i in range(13)]
    with pytest.raises(Ambiguous) as e:
        resolve(many, "zoe")
    assert str(e.value).endswith("Zoë Doe9 <p9@x.example> and 3 more; use the address")
    assert str(e.value).count("Zoë Doe") == 10


def test_a_miss_suggests_the_closest() -> None:
    with pytest.raises(NotFound) as e:
        resolve(PEOPLE, "jsoe")
    assert str(e.value) == "no contact 'jsoe' (did you mean José Álvarez <jose@alvarez.example>?)"
    assert isinstance(e.value, LookupError)
    with pytest.raises(NotFound) as e:
        resolve(PEOPLE, "ana")  # as close to Anna's first name as to dana@
    assert set(e.value.near) == {
        "Anna Berg <anna@a.example>",
        "Anna Kim <ak@k.example>",
        "dana@d.example",
    }
    assert re.fullmatch(r"no contact 'ana' \(did you mean [^,]+, [^,]+ or [^,]+\?\)", str(e.value))
    with pytest.raises(NotFound) as e:
        resolve(PEOPLE, "xyzzy")
    assert str(e.value) == "no contact 'xyzzy'"
    with pytest.raises(NotFound) as e:
        resolve(PEOPLE, "dnaa@d.example")
    assert str(e.value) == "no contact 'dnaa@d.example' (did you mean dana@d.example?)"


def test_an_address_never_names_anyone_by_a_name() -> None:
    with pytest.raises(NotFound):
        resolve([Contact("x@y.example", name="bob@b.example")], "bob@b.example")
    with pytest.raises(NotFound, match="no contact ''"):
        resolve(PEOPLE, "  ")


def test_mailed_commands_take_only_parts_that_start_a_word() -> None:
    assert resolve(PEOPLE, "ob") is BOB
    with pytest.raises(NotFound):
        resolve(PEOPLE, "ob", within_words=False)
    assert resolve(PEOPLE, "stone", within_words=False) is BOB
    assert resolve(PEOPLE, "jose", within_words=False) is JOSE
    joanne = Contact("jo@j.example", name="Joanne Ek")
    ann = Contact("al@l.example", name="Annika Lee")
    with pytest.raises(Ambiguous):
        resolve([joanne, ann], "ann")
    assert resolve([joanne, ann], "ann", within_words=False) is ann


def test_ten_thousand_contacts_with_like_names() -> None:
    # correctness at size only; its speed is measured by `make bench`, never here
    people = [
        Contact(f"p{i}@x{i % 97}.example", name=f"{first} Nüñez{i}")
        for i, first in enumerate(["Zoë", "Anna", "José", "Björn"] * 2500)
    ]
    assert resolve(people, "p9999@x8.example").email == "p9999@x8.example"
    assert resolve(people, "bjorn nunez7").email == "p7@x7.example"
    assert resolve(people, "p4242").email == "p4242@x71.example"
    with pytest.raises(NotFound, match="did you mean"):
        resolve(people, "zoe nunez99999")


# -- tiers -------------------------------------------------------------------------------------

TIERS = ("inner", "network", "loose")


def test_a_tier_is_one_of_the_configured_ones() -> None:
    assert check_tier("inner", TIERS) == "inner"
    assert check_tier(" Network ", TIERS) == "network"
    assert check_tier("vip", ("VIP", "inner")) == "VIP"  # as configured
    with pytest.raises(ValueError) as e:
        check_tier("vip", TIERS)
    assert str(e.value) == "'vip' is not a tier (configured: inner, network, loose)"


def test_without_configured_tiers_any_one_word_is_a_tier() -> None:
    assert check_tier("Close-Friends", ()) == "close-friends"
    with pytest.raises(ValueError, match="one word"):
        check_tier("inner circle", ())
    with pytest.raises(ValueError, match="one word"):
        check_tier("", ())


# -- the index: many names looked up among the same contacts (issue 10) -----------------------
#
# `Resolver` must answer exactly as the linear rules did: the same contact, or the same error
# with the same words. `linear` below is `resolve` as it was before the index (commit 56e341b),
# kept as the oracle.


def linear(contacts: list[Contact], who: str, within_words: bool = True) -> Contact:
    from mailer.core.naming import MAX_LISTED, _first_name, _folded, _label, _local_part

    people = list(contacts)
    address = who.strip().lower()
    for c in people:
        if c.email == address:
            return c
    for c in people:
        if address in c.aliases:
            return c
    key = _folded(who)
    named = []
    if key and "@" not in key:
        named = [(c, _folded(c.name)) for c in people if c.name]

        def part(name: str) -> bool:
            if key not in name:
                return False
            return within_words or name.startswith(key) or f" {key}" in name or f"-{key}" in name

        rules = (
            [c for c, name in named if name == key],
            [c for c, name in named if key in name and _first_name(name) == key],
            [
                c
                for c in people
                if _local_part(c.email) == key or any(_local_part(a) == key for a in c.aliases)
            ],
            [c for c, name in named if part(name)],
        )
        for found in rules:
            if len(found) == 1:
                return found[0]
            if found:
                listed = ", ".join(_label(c) for c in found[:MAX_LISTED])
                more = f" and {len(found) - MAX_LISTED} more" if len(found) > MAX_LISTED else ""
                raise Ambiguous(f"{who.strip()!r} is ambiguous: {listed}{more}; use the address")

    def near() -> list[str]:
        import difflib

        if not key:
            return []
        holders: dict[str, list[Contact]] = {}
        for c in people:
            for a in (c.email, *c.aliases):
                text = a if "@" in key else _local_part(a)
                if text:
                    holders.setdefault(text, []).append(c)
        for c, name in named:
            for text in (name, _first_name(name)):
                if text:
                    holders.setdefault(text, []).append(c)
        labels: dict[str, None] = {}
        best = 0.0
        for text in difflib.get_close_matches(key, holders, n=9):
            score = difflib.SequenceMatcher(None, text, key).ratio()
            best = best or score
            if score < best - 0.1:
                break
            labels.update(dict.fromkeys(_label(c) for c in holders[text]))
        return list(labels)[:3]

    raise NotFound(who.strip(), near)


def outcome(find: Callable[[], Contact]) -> tuple[str, str]:
    try:
        return ("found", find().email)
    except (Ambiguous, NotFound) as e:
        return (type(e).__name__, str(e))


_WORDS = ["Anna", "Ann", "Berg", "Björn", "Zoë", "Müller", "Kim", "Ann-Marie", "Lee", "Bergman"]
_word = st.sampled_from(_WORDS)
_names = st.one_of(
    st.none(),
    st.lists(_word, min_size=1, max_size=3).map(" ".join),
    st.tuples(_word, _word).map(lambda p: f"{p[0]}, {p[1]}"),  # "Berg, Anna"
)
_local = st.sampled_from(["anna", "ann", "berg", "bjorn", "zoe", "kim", "a", "ab", "lee"])
_domain = st.sampled_from(["a.example", "b.example", "mü.example"])
_address = st.builds(
    lambda lo, n, d: f"{lo}{n}@{d}", _local, st.sampled_from(["", "1", "2"]), _domain
)
_people = st.lists(
    st.builds(
        lambda email, name, aliases: Contact(email, name=name, aliases=tuple(aliases)),
        _address,
        _names,
        st.lists(_address, max_size=2),
    ),
    max_size=12,
    unique_by=lambda c: c.email,
)
_who = st.one_of(
    _word,
    _local,
    _address,
    st.lists(st.one_of(_word, _local), min_size=1, max_size=3).map(" ".join),
    st.text(alphabet="abnrgkmeöë -@.", max_size=12),
    st.builds(lambda w: w.upper() + ".", _word),
)


@settings(max_examples=600, deadline=None)
@given(people=_people, whos=st.lists(_who, min_size=1, max_size=6), within=st.booleans())
def test_the_index_answers_as_the_linear_rules_did(
    people: list[Contact], whos: list[str], within: bool
) -> None:
    class Unbounded(Resolver):
        MAX_SEARCHES = 1_000  # the budget of suggestions is tested on its own, below

    names = Unbounded(people)  # one index for all lookups, as a command mail uses it
    for who in whos:
        expected = outcome(lambda who=who: linear(people, who, within))
        assert outcome(lambda who=who: names.find(who, within_words=within)) == expected, who
        assert outcome(lambda who=who: resolve(people, who, within_words=within)) == expected


def test_suggestions_are_searched_for_a_few_misses_a_mail() -> None:
    """A search for near names is a pass over every name: bounded per index, each miss once."""
    names = Resolver(PEOPLE)
    misses = ["jsoe", "zeo", "gred", "bbo", "kelin", "dnaa"]
    said = [str(outcome(lambda m=m: names.find(m))[1]) for m in misses]
    assert all("did you mean" in s for s in said[: Resolver.MAX_SEARCHES])
    assert said[Resolver.MAX_SEARCHES :] == ["no contact 'dnaa'"]  # budget spent: no search
    assert "did you mean José Álvarez" in str(outcome(lambda: names.find("jsoe"))[1])  # cached
    assert str(outcome(lambda: resolve(PEOPLE, "dnaa"))[1]) == (
        "no contact 'dnaa' (did you mean dana@d.example?)"
    )


def test_an_index_reads_its_contacts_once() -> None:
    class Counted(list[Contact]):
        reads = 0

        def __iter__(self) -> Iterator[Contact]:
            Counted.reads += 1
            return super().__iter__()

    people = Counted(PEOPLE)
    names = Resolver(people)
    for who in ["jose", "anna b", "kk", "nobody", "stone", "xyz"] * 20:
        outcome(lambda who=who: names.find(who, within_words=False))
    assert Counted.reads == 1
