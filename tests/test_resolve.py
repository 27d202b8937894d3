"""Naming a person: the one resolver the CLI, mailed commands and intros share, and the
tier check they share with the address book import. Pure: contacts in, a contact out."""

from __future__ import annotations

import re

import pytest

from mailer.core.contacts import Ambiguous, NotFound, check_tier, resolve
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
