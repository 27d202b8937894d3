"""Which contact a name names: `resolve` and the `Resolver` behind it.

The CLI and command mail both name people as they type them ("anna",
"lukasz", "anna berg", an address or an alias), and a command must never be
applied to a guessed person. So the rules of naming, the ambiguity and
not-found errors with their suggestions, and the indexes that make them
quick at 10,000 contacts live here, apart from folding mail into contacts.

Pure: no I/O.
"""

from __future__ import annotations

import bisect
import difflib
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

from mailer.model import Contact

MAX_LISTED = 10  # candidates an ambiguity error names
MAX_NEAR = 3  # suggestions a miss offers
NEAR_MARGIN = 0.1  # ... only those about as close as the closest
NEAR_CUTOFF = 0.6  # difflib's default: how alike a suggestion must be at least
# Letters NFKD leaves whole, as they are typed without accents ("lukasz" for Łukasz).
_PLAIN_LETTERS = {"ł": "l", "ø": "o", "đ": "d", "ð": "d", "ħ": "h", "ı": "i", "æ": "ae", "œ": "oe"}

_Named = list[tuple[Contact, str]]  # contacts with a name, and that name folded


class Ambiguous(LookupError):
    """`who` names several contacts; the message lists them."""


class NotFound(LookupError):
    """`who` names no contact; `near` are the closest ones ("Name <email>").

    They are looked for only when asked for: reading a command line tries
    several splits of its words into a name and the rest, and most miss.
    """

    def __init__(self, who: str, near: Callable[[], list[str]] = list) -> None:
        super().__init__(who)
        self.who = who
        self._find_near = near
        self._near: tuple[str, ...] | None = None

    @property
    def near(self) -> tuple[str, ...]:
        if self._near is None:
            self._near = tuple(self._find_near())
        return self._near

    @property
    def hint(self) -> str:
        """` (did you mean A <a> or B <b>?)`, or "" when nothing is close."""
        if not self.near:
            return ""
        *most, last = self.near
        return f" (did you mean {', '.join(most) + ' or ' if most else ''}{last}?)"

    def __str__(self) -> str:
        return f"no contact {self.who!r}{self.hint}"


def resolve(contacts: Iterable[Contact], who: str, *, within_words: bool = True) -> Contact:
    """The one contact `who` names, by the first of these rules that finds anyone:

    1. its address, 2. one of its aliases (case and blanks around aside; with a
    trailing dot it is another address); then, accents and case aside ("jose"
    for José, "strasse" for Straße): 3. its whole display name, 4. its first
    name, 5. its address before the @, 6. a part of its name ("alvarez",
    "ann b"); with `within_words` False only a part that starts a word of it
    ("ob" is then nobody, not Bob: mailed commands must not guess).

    Raises Ambiguous, listing the candidates, when that rule finds several,
    and NotFound, with the closest names, when no rule finds anyone. One
    lookup; to name many people among the same contacts, build a `Resolver`.
    """
    return Resolver(contacts).find(who, within_words=within_words)


class Resolver:
    """The contacts indexed for naming many people, by the rules of `resolve`.

    A command mail names someone on every line, and each line tries several
    splits of its words into a name and the rest: a scan of every contact per
    try cost half a second a line at 10,000 contacts. Built once per mail, this
    answers the same, with the same messages: the address, an alias, the whole
    name, the first name and the address before the @ are dict lookups; a part
    of a name that starts a word of it is a binary search among the word-start
    suffixes of every name; only a part anywhere inside a name (the CLI's
    `within_words`) is a scan. The indexes by name are built at the first
    lookup that needs them. Suggestions for a miss are looked for for the
    first `MAX_SEARCHES` different misses only (each costs a pass over every
    name): a mail that misses more names than that holds no typos.
    """

    MAX_SEARCHES = 5

    def __init__(self, contacts: Iterable[Contact]) -> None:
        self._people = list(contacts)
        self._by_email: dict[str, Contact] = {}
        self._by_alias: dict[str, Contact] = {}
        for c in self._people:  # the first one wins, as in a scan
            self._by_email.setdefault(c.email, c)
            for alias in c.aliases:
                self._by_alias.setdefault(alias, c)
        self._index: _NameIndex | None = None
        self._suffixes: list[tuple[str, int]] | None = None
        self._found: dict[tuple[str, bool], list[Contact]] = {}
        self._near: dict[str, list[str]] = {}
        self._holders: dict[bool, _Holders] = {}

    def find(self, who: str, *, within_words: bool = True) -> Contact:
        """The one contact `who` names; Ambiguous or NotFound as `resolve` raises them."""
        address = who.strip().lower()
        found = self._by_email.get(address) or self._by_alias.get(address)
        if found is not None:
            return found
        key = _folded(who)
        if key and "@" not in key:  # an address names no one by a name
            people = self._by_name(key, within_words)
            if len(people) == 1:
                return people[0]
            if people:
                listed = ", ".join(_label(c) for c in people[:MAX_LISTED])
                more = f" and {len(people) - MAX_LISTED} more" if len(people) > MAX_LISTED else ""
                raise Ambiguous(f"{who.strip()!r} is ambiguous: {listed}{more}; use the address")
        raise NotFound(who.strip(), lambda: self.near(key))

    def _by_name(self, key: str, within_words: bool) -> list[Contact]:
        """The contacts of the first name rule that finds any for the folded `key`."""
        cached = self._found.get((key, within_words))
        if cached is not None:
            return cached
        index = self._names()
        found = (
            index.by_name.get(key)
            or index.by_first.get(key)
            or index.by_local.get(key)
            or self._parts(key, within_words)
        )
        self._found[(key, within_words)] = found
        return found

    def _names(self) -> _NameIndex:
        if self._index is None:
            self._index = _NameIndex(self._people)
        return self._index

    def _parts(self, key: str, within_words: bool) -> list[Contact]:
        """Rule 6: the named contacts of whose name `key` is a part (one that starts a word)."""
        index = self._names()
        if within_words:
            return [c for c, name in index.named if key in name]
        if self._suffixes is None:
            self._suffixes = sorted(
                (name[p:], n)
                for n, (_c, name) in enumerate(index.named)
                for p in range(len(name))
                if p == 0 or name[p - 1] in " -"
            )
        suffixes = self._suffixes
        hits: set[int] = set()
        for k in range(bisect.bisect_left(suffixes, (key,)), len(suffixes)):
            suffix, n = suffixes[k]
            if not suffix.startswith(key):
                break
            hits.add(n)
        return [index.named[n][0] for n in sorted(hits)]

    def near(self, key: str) -> list[str]:
        """Up to MAX_NEAR contacts something of which is close to the folded `key`
        (difflib's ratio, and about as close as the closest), the closest first:
        for an address their addresses, else their names, first names and
        addresses before the @. [] once MAX_SEARCHES misses were searched."""
        if not key:
            return []
        if key in self._near:
            return self._near[key]
        if len(self._near) >= self.MAX_SEARCHES:
            return []
        holders = self._holders_of(address="@" in key)
        # difflib keeps a text only when 2 * matches / (its length + the key's) >= 0.6, and
        # its matches are at most the letters it shares with the key, counted as often as the
        # key has them (bounded here by set sizes, which are cheap): the texts that cannot
        # pass are left out before difflib's own, slower, checks.
        counts: dict[str, int] = {}
        for ch in key:
            counts[ch] = counts.get(ch, 0) + 1
        letters, size = frozenset(counts), len(key)
        repeated, extra = frozenset(c for c, n in counts.items() if n > 1), max(counts.values()) - 1
        possible = [
            text
            for text, length, has in holders.texts
            if 2.0 * (len(letters & has) + extra * len(repeated & has)) / (length + size)
            >= NEAR_CUTOFF
        ]
        labels: dict[str, None] = {}
        best = 0.0
        for text in difflib.get_close_matches(key, possible, n=3 * MAX_NEAR, cutoff=NEAR_CUTOFF):
            score = difflib.SequenceMatcher(None, text, key).ratio()
            best = best or score
            if score < best - NEAR_MARGIN:
                break  # the rest are much further: "klein@k.example." is not "ak@k.example"
            labels.update(dict.fromkeys(_label(c) for c in holders.people[text]))
        self._near[key] = found = list(labels)[:MAX_NEAR]
        return found

    def _holders_of(self, *, address: bool) -> _Holders:
        """What a miss is compared with: addresses for an address, else names, first
        names and addresses before the @, each with its contacts."""
        if address not in self._holders:
            people: dict[str, list[Contact]] = {}

            def hold(text: str, c: Contact) -> None:
                if text:
                    people.setdefault(text, []).append(c)

            if address:
                for c in self._people:
                    for a in (c.email, *c.aliases):
                        hold(a, c)
            else:
                index = self._names()
                for c, local_parts in zip(self._people, index.local_parts, strict=True):
                    for local in local_parts:
                        hold(local, c)
                for (c, name), first in zip(index.named, index.first_names, strict=True):
                    hold(name, c)
                    hold(first, c)
            texts = [(text, len(text), frozenset(text)) for text in people]
            self._holders[address] = _Holders(people, texts)
        return self._holders[address]


class _Holders(NamedTuple):
    people: dict[str, list[Contact]]  # text -> the contacts it belongs to
    texts: list[tuple[str, int, frozenset[str]]]  # each text, its length and its letters


class _NameIndex:
    """The contacts by folded name, first name and address before the @, in their order."""

    def __init__(self, people: Sequence[Contact]) -> None:
        self.named: _Named = [(c, _folded(c.name)) for c in people if c.name]
        self.first_names = [_first_name(name) for _c, name in self.named]
        # each contact's addresses before the @ (its own, then its aliases'), once each
        self.local_parts = [
            (_local_part(c.email),)
            if not c.aliases
            else tuple(dict.fromkeys(_local_part(a) for a in (c.email, *c.aliases)))
            for c in people
        ]
        self.by_name: dict[str, list[Contact]] = {}
        self.by_first: dict[str, list[Contact]] = {}
        self.by_local: dict[str, list[Contact]] = {}
        for (c, name), first in zip(self.named, self.first_names, strict=True):
            self.by_name.setdefault(name, []).append(c)
            if first:
                self.by_first.setdefault(first, []).append(c)
        for c, local_parts in zip(people, self.local_parts, strict=True):
            for local in local_parts:
                self.by_local.setdefault(local, []).append(c)


class _Folding(dict[int, str]):
    """str.translate's table for `_folded`, filled one character at a time as met.

    NFKD, dropping combining marks and casefolding all work per character, so
    this gives what they give on the whole text at a fraction of the cost.
    """

    def __missing__(self, code: int) -> str:
        decomposed = unicodedata.normalize("NFKD", chr(code))
        plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
        self[code] = folded = "".join(_PLAIN_LETTERS.get(ch, ch) for ch in plain)
        return folded


_FOLDING = _Folding()


def _folded(text: str) -> str:
    """As a name gets typed on a phone: "Zoë  Müller" -> "zoe muller", "Straße" -> "strasse"."""
    if text.isascii():
        return " ".join(text.lower().split())
    return " ".join(text.translate(_FOLDING).split())


def _first_name(name: str) -> str:
    """The first name in a folded display name: "anna" of "anna berg" and of "berg, anna"."""
    family, comma, given = name.partition(",")
    words = given.split() if comma and len(family.split()) == 1 else name.split()
    return words[0].strip("\"'()") if words else ""


def _local_part(address: str) -> str:
    local = address.rpartition("@")[0]
    return local if local.isascii() else _folded(local)  # addresses are stored lower-case


def _label(c: Contact) -> str:
    return f"{c.name} <{c.email}>" if c.name else c.email
