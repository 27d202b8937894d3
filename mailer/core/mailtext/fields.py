"""The command mail's own header fields, as the `email` package parsed them.

Who sent it (`_read_from`: From read two ways, since a look-alike address
is how a stranger would pass for the owner) and to whom (`_addr_list`).
The scan reads headers its own, faster way (`mailer.core.headers`).
"""

from __future__ import annotations

import email.header
import email.utils
import itertools
import re
from email.errors import ObsoleteHeaderDefect
from email.headerregistry import HeaderRegistry
from email.message import Message

from mailer.core.mailtext.limits import MAX_ADDRESS_CHARS, MAX_FROM_CHARS, MAX_HEADERS

_REGISTRY = HeaderRegistry()


def _clean(value: str) -> str:
    """A raw header value as text: 8-bit bytes decoded as UTF-8, folding undone."""
    try:
        value = value.encode("ascii", "surrogateescape").decode("utf-8", "replace")
    except UnicodeError:
        value = value.encode("utf-8", "replace").decode("utf-8", "replace")
    return re.sub(r"\r?\n[ \t]*", " ", value).strip()


def _raw_headers(msg: Message, name: str) -> list[str]:
    """Every value of header `name` among the first MAX_HEADERS, in order, unparsed."""
    key = name.lower()
    items = itertools.islice(msg.raw_items(), MAX_HEADERS)
    return [_clean(str(v)) for k, v in items if k.lower() == key]


# Not `core.headers.decode_words`: the two read odd input differently (unknown
# charsets, words glued to text), and a subject read anew changes `content_hash`,
# by which a mail delivered twice is applied once.
def _decode_words(value: str) -> str:
    """RFC 2047 encoded words in free text (subjects, names)."""
    try:
        return str(email.header.make_header(email.header.decode_header(value)))
    except Exception:
        return value


def _addr_list(values: list[str]) -> list[str]:
    """Lower-case addresses (with an @) of address header values, deduped in order."""
    seen: dict[str, None] = {}
    bounded, room = [], MAX_ADDRESS_CHARS
    for value in values:
        bounded.append(value[:room])
        room -= len(bounded[-1])
        if room <= 0:
            break
    for _name, addr in email.utils.getaddresses(bounded):
        addr = addr.strip().lower()
        if "@" in addr and not addr.startswith("@"):
            seen.setdefault(addr)
    return list(seen)


def _read_from(msg: Message) -> tuple[tuple[str, ...], str | None, str | None]:
    """(addresses, display name, problem) of the From header(s).

    Two parsers read it: the header registry (what the `email` package
    believes) and `getaddresses` (closer to what many clients show). A
    look-alike such as ``pat@example.org <evil@x.org>`` reads as the owner in
    one and as a stranger in the other; every address either finds is kept,
    and any disagreement or defect is named in `problem`.
    """
    values = _raw_headers(msg, "From")
    if any(len(value) > MAX_FROM_CHARS for value in values):
        return (), None, f"From header longer than {MAX_FROM_CHARS} characters"
    problem = None
    if len(values) > 1:
        problem = f"{len(values)} From headers"
    registry: list[str] = []
    name: str | None = None
    for value in values:
        try:
            header = _REGISTRY("from", value)
            addrs = getattr(header, "addresses", ())
            for a in addrs:
                spec = str(a.addr_spec).strip().lower()
                if spec:
                    registry.append(spec)
                if name is None and a.display_name:
                    name = str(a.display_name).strip() or None
            # Obsolete syntax is common and harmless ("Pat D. Doe <...>"); anything else is not.
            serious = [d for d in header.defects if not isinstance(d, ObsoleteHeaderDefect)]
            if serious and problem is None:
                problem = f"malformed From header: {value!r}"
        except Exception:
            problem = problem or f"unreadable From header: {value!r}"
    other = _addr_list(values)
    if problem is None and sorted(set(registry)) != sorted(other):
        problem = f"From header reads two ways: {values[-1]!r}"
    merged = tuple(dict.fromkeys([a for a in registry if a] + other))
    if name is None and values:
        pairs = email.utils.getaddresses(values)
        if pairs and pairs[0][0]:
            name = _decode_words(pairs[0][0]).strip() or None
    return merged, name, problem
