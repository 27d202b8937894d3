"""HTML mail bodies as text, with the client's quotes marked and its signature dropped.

A tokenizer of our own, in one pass: `html.parser` is quadratic on some inputs.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Mapping

from mailer.core.mailtext.limits import MAX_HTML_CHARS, MAX_QUOTE_DEPTH

_BLOCK = frozenset(
    "address article aside blockquote br dd div dl dt fieldset figure footer form h1 h2 h3 h4 h5 "  # noqa: SIM905
    "h6 header hr li main nav ol p pre section table tbody thead tfoot tr ul".split()
)
_VOID = frozenset("area base br col embed hr img input link meta param source track wbr".split())  # noqa: SIM905
_HIDDEN = frozenset(("script", "style", "head", "title", "template"))
_RAW_TEXT = frozenset(("script", "style", "title", "textarea"))  # their content is no markup
# Quote and signature containers of common clients: Gmail, Yahoo, Thunderbird, Outlook web.
_QUOTE_CLASSES = ("gmail_quote", "yahoo_quoted")
_SIGNATURE_CLASSES = ("gmail_signature", "moz-signature")
_SIGNATURE_IDS = ("signature",)
_TAG_START = re.compile(r"<(?:/?[a-zA-Z]|[!?])")  # a "<" that opens markup; others are text
_TAG = re.compile(r"(/?)([a-zA-Z][^\s/>]*)")
# One attribute, searched for by name; the value's closing quote is optional, so a
# search never fails after scanning (a quadratic trap with unterminated quotes).
_ATTRS = {
    name: re.compile(
        rf"""(?:^|[\s"'/]){name}\s*=\s*(?:"([^"]*)"?|'([^']*)'?|([^\s"'>]*))""", re.IGNORECASE
    )
    for name in ("class", "id", "type", "data-smartmail")
}
_SPACES = re.compile(r"\s+")
_QUOTE_IN, _QUOTE_OUT = "\x01", "\x02"  # line markers, removed from the mail's own text


def _attributes(tag_text: str) -> dict[str, str]:
    """The few attributes that matter (class, id, type, data-smartmail), lower-case."""
    found: dict[str, str] = {}
    if "=" not in tag_text:
        return found
    lowered = tag_text.lower()
    for name, pattern in _ATTRS.items():
        if name in lowered and (m := pattern.search(tag_text)):
            found[name] = (m.group(1) or m.group(2) or m.group(3) or "").lower()
    return found


def _is_signature(attrs: Mapping[str, str]) -> bool:
    classes = attrs.get("class", "").split()
    return (
        any(c.startswith(_SIGNATURE_CLASSES) for c in classes)
        or attrs.get("id", "") in _SIGNATURE_IDS
        or attrs.get("data-smartmail", "") == "gmail_signature"
    )


def _is_quote(tag: str, attrs: Mapping[str, str]) -> bool:
    classes = attrs.get("class", "").split()
    return tag == "blockquote" or any(c.startswith(_QUOTE_CLASSES) for c in classes)


def html_to_text(html: str, *, keep_quotes: bool = False, quote_prefix: bool = False) -> str:
    """Readable text of an HTML mail body, in one pass over at most MAX_HTML_CHARS.

    Line breaks come from <br>, <p>, <div> and the other block elements.
    Quoted replies (<blockquote>, Gmail's div.gmail_quote, Yahoo's
    div.yahoo_quoted) are dropped, unless `keep_quotes`, or written with "> "
    before each line with `quote_prefix` (as a plain-text client quotes, so
    the reply rules read both alike). Signatures marked as such by the
    client are always dropped.
    """
    html = html[:MAX_HTML_CHARS]
    keep_quotes = keep_quotes or quote_prefix
    lower = html.lower()
    n = len(html)
    out: list[str] = []
    open_tags: dict[str, int] = {}  # how many of each element are open
    quotes: list[tuple[str, int]] = []  # open quote containers: (tag, its open count)
    skip_tag: str | None = None  # inside a dropped element of this name
    skip_depth = 0
    pre = 0
    pos = 0

    def add_text(data: str) -> None:
        if skip_tag is not None or not data:
            return
        data = html_lib.unescape(data) if "&" in data else data
        data = data.replace("\xa0", " ").replace(_QUOTE_IN, "").replace(_QUOTE_OUT, "")
        out.append(data if pre else _SPACES.sub(" ", data))

    while pos < n:
        start = _TAG_START.search(html, pos)
        if start is None:
            add_text(html[pos:])
            break
        lt = start.start()
        if lt > pos:
            add_text(html[pos:lt])
        if html.startswith("<!--", lt):
            end = html.find("-->", lt + 4)
            if end < 0:
                break  # an unterminated comment runs to the end
            pos = end + 3
            continue
        if html.startswith(("<!", "<?"), lt):
            end = html.find(">", lt + 2)
            if end < 0:
                break
            pos = end + 1
            continue
        m = _TAG.match(html, lt + 1)
        if m is None:  # not reached: _TAG_START saw a letter
            add_text("<")
            pos = lt + 1
            continue
        end = html.find(">", m.end())
        if end < 0:
            break  # an unterminated tag: nothing after it is text
        pos = end + 1
        closing, tag = bool(m.group(1)), m.group(2).lower()
        tag_text = html[m.end() : end]
        if not closing and tag in _RAW_TEXT and not tag_text.endswith("/"):
            close = lower.find("</" + tag, pos)
            if close < 0:
                break
            end = html.find(">", close)
            if end < 0:
                break
            if skip_tag is None and tag not in _HIDDEN:
                add_text(html[pos:close])
            pos = end + 1
            continue
        if closing:
            if skip_tag is not None:
                if tag == skip_tag:
                    skip_depth -= 1
                    if skip_depth == 0:
                        skip_tag = None
                        out.append("\n")
                continue
            if open_tags.get(tag):
                open_tags[tag] -= 1
            if quotes and quotes[-1][0] == tag and open_tags.get(tag, 0) < quotes[-1][1]:
                quotes.pop()
                out.append(f"\n{_QUOTE_OUT}\n")
            if tag == "pre":
                pre = max(0, pre - 1)
            if tag in _BLOCK:
                out.append("\n")
            continue
        self_closed = tag_text.endswith("/") or tag in _VOID
        if skip_tag is not None:
            if tag == skip_tag and not self_closed:
                skip_depth += 1
            continue
        attrs = _attributes(tag_text) if "=" in tag_text and len(tag_text) <= 2000 else {}
        dropped = tag in _HIDDEN or (bool(attrs) and _is_signature(attrs))
        quote = tag == "blockquote" or (bool(attrs) and _is_quote(tag, attrs))
        dropped = dropped or (quote and not keep_quotes)
        if dropped:
            if not self_closed:
                skip_tag, skip_depth = tag, 1
            continue
        if tag == "hr":
            # As Outlook renders it in text: its reply header follows one.
            out.append("\n\n" + "_" * 32 + "\n")
        elif tag in _BLOCK:
            out.append("\n")
        if self_closed:
            continue
        open_tags[tag] = open_tags.get(tag, 0) + 1
        if tag == "pre":
            pre += 1
        if quote_prefix and quote:
            quotes.append((tag, open_tags[tag]))
            out.append(f"\n{_QUOTE_IN}\n")
    lines = []
    depth = 0
    for line in "".join(out).split("\n"):
        line = line.strip()
        if line == _QUOTE_IN:
            depth += 1
        elif line == _QUOTE_OUT:
            depth = max(0, depth - 1)
        elif depth and line:
            lines.append("> " * min(depth, MAX_QUOTE_DEPTH) + line)
        else:
            lines.append(line)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
