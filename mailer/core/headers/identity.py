"""Who the owner is, and whose mail is not a relationship (`Identity`).

An address in a header is the owner's, an automated sender's (the ignore
patterns) or a person's; `Identity` tells which, and caches what it has
parsed, since a mailbox has far fewer correspondents than messages.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from mailer.core.headers.addresses import _Address, _parse_addresses

# Automated senders. Matched case-insensitively against the whole address:
# "*" and "?" are fnmatch globs, "@domain" (or a bare "domain") matches that
# domain and its subdomains, anything else with an "@" is one exact address.
DEFAULT_IGNORE: tuple[str, ...] = (
    "*noreply*@*",
    "*no-reply*@*",
    "*no_reply*@*",
    "*donotreply*@*",
    "*do-not-reply*@*",
    "*do_not_reply*@*",
    "mailer-daemon@*",
    "mailerdaemon@*",
    "postmaster@*",
    "bounce@*",
    "bounces@*",
    "bounce-*@*",
    "bounces-*@*",
    "bounce+*@*",
    "bounces+*@*",
    "*-bounce@*",
    "*-bounces@*",
    "*@bounce.*",
    "*@bounces.*",
    "*notification@*",
    "*notifications@*",
    "notify@*",
    "auto-reply@*",
    "autoreply@*",
    "auto-confirm@*",
    "listserv@*",
    "majordomo@*",
    "owner-*@*",
    "*-owner@*",
    "*-request@*",
)

# A plausible address: something@something, without spaces, controls or the
# characters that delimit addresses. Apostrophes are fine in the local part.
_ADDRESS_RE = re.compile(
    r"[^\s@<>(),;:\"\\\[\]\x00-\x1f\x7f]+@[^\s@<>(),;:\"'\\\[\]\x00-\x1f\x7f]+"
)

# What an address is to the owner.
_PERSON, _OWNER, _IGNORED = 0, 1, 2
# Cache bounds (entries): about 5 MB for a mailbox of 10,000 correspondents.
_CACHE_SIZE = 50_000
_LIST_CACHE_SIZE = 20_000


_GLOB = re.compile(r"[*?\[]")
_LITERAL = r"[^*?\[\]]+"


class _Ignore:
    """The ignore patterns, sorted by shape so that a check costs a few set
    lookups and string tests instead of one regex of 30 alternatives that all
    start with ".*" (2-3 µs for every new address of a first scan).
    """

    __slots__ = (
        "contains",
        "domain_prefix",
        "domain_suffix",
        "domains",
        "exact",
        "globs",
        "local",
        "prefix",
        "suffix",
    )

    def __init__(self, patterns: Iterable[str]) -> None:
        exact: set[str] = set()
        domains: set[str] = set()
        local: set[str] = set()
        prefix: list[str] = []
        suffix: list[str] = []
        contains: list[str] = []
        domain_prefix: list[str] = []
        domain_suffix: list[str] = []
        globs: list[str] = []
        for raw in patterns:
            p = raw.strip().lower()
            if not p:
                continue
            if not _GLOB.search(p):
                if "@" in p[1:]:
                    exact.add(p)
                else:
                    # A domain, "@example.com" or "example.com", subdomains
                    # included: automated mail often comes from mail.example.com.
                    domains.add(p.lstrip("@"))
                continue
            name, at, domain = p.rpartition("@")
            if at and domain == "*" and not _GLOB.search(name):
                local.add(name)
            elif at and domain == "*" and re.fullmatch(rf"\*{_LITERAL}\*", name):
                contains.append(name[1:-1])
            elif at and domain == "*" and re.fullmatch(rf"{_LITERAL}\*", name):
                prefix.append(name[:-1])
            elif at and domain == "*" and re.fullmatch(rf"\*{_LITERAL}", name):
                suffix.append(name[1:])
            elif name == "*" and re.fullmatch(rf"{_LITERAL}\*", domain):
                domain_prefix.append(domain[:-1])
            elif name == "*" and re.fullmatch(rf"\*{_LITERAL}", domain):
                domain_suffix.append(domain[1:])
            else:
                globs.append(fnmatch.translate(p))
        self.exact = frozenset(exact)
        self.domains = frozenset(domains)
        self.local = frozenset(local)
        self.prefix = tuple(prefix)
        self.suffix = tuple(suffix)
        self.domain_prefix = tuple(domain_prefix)
        self.domain_suffix = tuple(domain_suffix)
        self.contains = re.compile("|".join(map(re.escape, contains))) if contains else None
        self.globs = re.compile("|".join(globs)) if globs else None

    def __call__(self, address: str) -> bool:
        """True when `address` (lower-case) matches one of the patterns."""
        if address in self.exact:
            return True
        name, _, domain = address.rpartition("@")
        if (
            name in self.local
            or (self.prefix and name.startswith(self.prefix))
            or (self.suffix and name.endswith(self.suffix))
            or (self.contains is not None and self.contains.search(name))
            or (self.domain_prefix and domain.startswith(self.domain_prefix))
            or (self.domain_suffix and domain.endswith(self.domain_suffix))
            or (self.globs is not None and self.globs.match(address))
        ):
            return True
        if self.domains:
            while True:
                if domain in self.domains:
                    return True
                dot = domain.find(".")
                if dot == -1:
                    return False
                domain = domain[dot + 1 :]
        return False


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the owner is, and whose mail is not a relationship.

    `addresses` are the owner's own (any case; kept lower-case). `ignore`
    replaces the defaults when given; `from_config` adds to them instead.
    Ignore patterns, case-insensitive, matched against the whole address:
    - `alerts@example.com`: that one address;
    - `@example.com` (or `example.com`): that domain and all its subdomains;
    - anything with `*`, `?` or `[`: an fnmatch glob, e.g. `noreply*@*`, `*@bounces.*`.
    """

    addresses: frozenset[str]
    max_recipients: int = 20
    ignore: tuple[str, ...] = DEFAULT_IGNORE
    _ignored: _Ignore = field(init=False, repr=False, compare=False)
    # Caches, because a mailbox has far fewer distinct senders and recipient
    # lists than messages: raw address text -> (address, kind) or None when
    # not an address, and raw field value -> its addresses with their names.
    _seen: dict[str, tuple[str, int] | None] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )
    _lists: dict[str, tuple[_Address, ...]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        given = [self.addresses] if isinstance(self.addresses, str) else self.addresses
        addresses = frozenset(a.strip().lower() for a in given if a and a.strip())
        object.__setattr__(self, "addresses", addresses)
        object.__setattr__(self, "ignore", tuple(self.ignore))
        object.__setattr__(self, "_ignored", _Ignore(self.ignore))

    @classmethod
    def from_config(
        cls,
        addresses: Iterable[str],
        max_recipients: int = 20,
        ignore_patterns: Iterable[str] = (),
    ) -> Identity:
        """The owner as configured: `ignore_patterns` extend DEFAULT_IGNORE."""
        return cls(
            addresses=frozenset([addresses] if isinstance(addresses, str) else addresses),
            max_recipients=max_recipients,
            ignore=DEFAULT_IGNORE + tuple(ignore_patterns),
        )

    def ignores(self, address: str) -> bool:
        """True when mail from `address` is automated by the ignore patterns."""
        return self._ignored(address.strip().lower())

    def _classify(self, raw: str) -> tuple[str, int] | None:
        """(lower-case address, kind) of raw address text, None if not an address."""
        addr = raw.strip().strip("<>").strip()
        # 'pat@example.com': a quoted address, as Outlook writes them.
        if len(addr) > 2 and addr[0] == addr[-1] == "'":
            addr = addr[1:-1]
        result: tuple[str, int] | None = None
        if _ADDRESS_RE.fullmatch(addr):
            addr = addr.lower()
            if addr in self.addresses:
                kind = _OWNER
            elif self._ignored(addr):
                kind = _IGNORED
            else:
                kind = _PERSON
            result = (addr, kind)
        if len(self._seen) >= _CACHE_SIZE:  # bound the memory of a long-running daemon
            self._seen.clear()
        self._seen[raw] = result
        return result

    def _addresses(self, value: str) -> tuple[_Address, ...]:
        """(lower-case address, kind, display name) of each address in a field."""
        found = self._lists.get(value)
        if found is None:
            found = _parse_addresses(value, self)
            if len(value) <= 512:  # long lists are rare, and mass mail anyway
                if len(self._lists) >= _LIST_CACHE_SIZE:
                    self._lists.clear()
                self._lists[value] = found
        return found
