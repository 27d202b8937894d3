"""Authentication-Results (RFC 8601), read the way the receiving server wrote it.

`commands.require_dkim` trusts one header: the one the owner's receiving
server adds on top. Everything else in a mail's header block, other
Authentication-Results included, may have been written by the sender, and
even the server's own header repeats sender-chosen text (the envelope sender
in `smtp.mailfrom`). So the value is tokenized as the grammar says (RFC 8601
section 2.2, with RFC 5322 quoted strings and comments): a `;` or a
`dkim=pass` inside a quoted string or a comment is text, not a result, and
only the topmost header carrying the configured authserv-id counts
(section 5: a forged one further down must not outvote it).

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

__all__ = ["Result", "Results", "Value", "parse", "vouches"]


@dataclass(frozen=True)
class Value:
    """A property value: its text, and the domain it names (None when it names none)."""

    text: str
    domain: str | None


@dataclass(frozen=True)
class Result:
    """One `method=result` of a header, with its properties (`header.d` -> value)."""

    method: str  # lower-case, version dropped ("dkim" of "dkim/1")
    result: str  # lower-case
    props: dict[str, Value] = field(default_factory=dict)


@dataclass(frozen=True)
class Results:
    authserv_id: str  # lower-case; "" when unreadable
    results: tuple[Result, ...]


# The receiving server's header is short; a longer value or a pile of headers is
# hostile, and what is cut off can only lose a pass, never make one.
MAX_VALUE = 16_384
MAX_HEADERS = 100

_ATOM, _QUOTED, _SPECIAL = "atom", "quoted", "special"
_SPECIALS = ";="


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    glued: bool  # no blank or comment between it and the token before


def _tokens(value: str) -> Iterator[_Token]:
    """Atoms, quoted strings (unescaped) and the specials `;` `=`; comments are blanks.

    An unclosed quoted string or comment runs to the end, as a careful
    reader must take it: its text is never a result.
    """
    i, n = 0, len(value)
    glued = False
    while i < n:
        ch = value[i]
        if ch.isspace() or ch == ")":  # a stray ")" closes nothing: a blank
            i += 1
            glued = False
        elif ch == "(":
            depth = 0
            while i < n:
                c = value[i]
                if c == "\\":
                    i += 1
                elif c == "(":
                    depth += 1
                elif c == ")":
                    depth -= 1
                    if depth == 0:
                        break
                i += 1
            i += 1
            glued = False
        elif ch == '"':
            i += 1
            text = []
            while i < n and value[i] != '"':
                if value[i] == "\\" and i + 1 < n:
                    i += 1
                text.append(value[i])
                i += 1
            i += 1
            yield _Token(_QUOTED, "".join(text), glued)
            glued = True
        elif ch in _SPECIALS:
            i += 1
            yield _Token(_SPECIAL, ch, glued)
            glued = True
        else:
            start = i
            while i < n and not value[i].isspace() and value[i] not in '()";=':
                i += 1
            yield _Token(_ATOM, value[start:i], glued)
            glued = True


def _domain_of(parts: Sequence[_Token]) -> str | None:
    """The domain a property value names: what follows its last unquoted `@`.

    `"a;dkim=pass header.d=example.org x"@evil.example` names evil.example. A
    value with no unquoted `@` names a domain only when it is one bare atom
    (`header.d=example.org`); quoted text, which the sender may choose, never
    names one.
    """
    for k in range(len(parts) - 1, -1, -1):
        part = parts[k]
        if part.kind == _ATOM and "@" in part.text:
            tail = part.text.rsplit("@", 1)[1]
            if k + 1 < len(parts) or not tail:
                return None  # "@" then more glued text: not a plain domain
            return _plain_domain(tail)
    if len(parts) == 1 and parts[0].kind == _ATOM:
        return _plain_domain(parts[0].text)
    return None


def _plain_domain(text: str) -> str | None:
    text = text.strip().rstrip(".").lower()
    return text if text and "@" not in text else None


def parse(value: str) -> Results:
    """One Authentication-Results value: its authserv-id and its results."""
    segments: list[list[_Token]] = [[]]
    for token in _tokens(value):
        if token.kind == _SPECIAL and token.text == ";":
            segments.append([])
        else:
            segments[-1].append(token)
    head = segments[0]
    authserv = head[0].text.lower() if head and head[0].kind != _SPECIAL else ""
    results = []
    for segment in segments[1:]:
        found = _result(segment)
        if found is not None:
            results.append(found)
    return Results(authserv, tuple(results))


def _result(tokens: list[_Token]) -> Result | None:
    """`method[/version] = result` then `name = value` pairs; None when not that shape."""
    if len(tokens) < 3 or tokens[1].text != "=" or tokens[1].kind != _SPECIAL:
        return None
    method, result = tokens[0], tokens[2]
    if method.kind != _ATOM or result.kind != _ATOM:
        return None
    props: dict[str, Value] = {}
    i = 3
    while i + 2 < len(tokens):
        name, eq = tokens[i], tokens[i + 1]
        if name.kind != _ATOM or eq.kind != _SPECIAL:
            i += 1  # not a property (a bare word of an old SPF verdict): skip it
            continue
        # The value runs to the next blank or comment: a local part may hold "="
        # unquoted (`smtp.mailfrom=example.org=x@evil.example` is evil.example's).
        parts = [tokens[i + 2]]
        j = i + 3
        while j < len(tokens) and tokens[j].glued:
            parts.append(tokens[j])
            j += 1
        text = "".join(p.text for p in parts)
        props.setdefault(name.text.lower(), Value(text, _domain_of(parts)))
        i = j
    return Result(method.text.split("/")[0].strip().lower(), result.text.lower(), props)


def vouches(values: Sequence[str], domain: str, authserv_id: str) -> bool:
    """Does the receiving server `authserv_id` vouch for `domain`?

    `values` are the mail's Authentication-Results, topmost first. Only the
    first whose authserv-id is `authserv_id` is read; in it, a `dkim=pass`
    signed by `domain` (header.d, else header.i) or an `spf=pass` for a
    `smtp.mailfrom` in `domain` vouches. Subdomains and parents do not.
    """
    want = authserv_id.strip().lower()
    domain = domain.strip().rstrip(".").lower()
    if not want or not domain:
        return False
    headers = (parse(v[:MAX_VALUE]) for v in values[:MAX_HEADERS])
    mine = next((r for r in headers if r.authserv_id == want), None)
    if mine is None:
        return False
    for r in mine.results:
        if r.result != "pass":
            continue
        if r.method == "dkim":
            signer = r.props.get("header.d") or r.props.get("header.i")
        elif r.method == "spf":
            signer = r.props.get("smtp.mailfrom")
        else:
            continue
        if signer is not None and signer.domain == domain:
            return True
    return False
