"""Text from other people's mail, made harmless to store and to print.

A subject or a display name is written by whoever sends the mail, and mailer
shows it on the owner's terminal (`commands list`, `digest preview`,
`contacts list`), in CSV files opened in spreadsheets and in the digest. A
terminal obeys what such text carries: escape sequences clear the screen,
retitle the window or hide a link behind harmless words (OSC 8), a carriage
return overwrites the line, and the bidi overrides U+202E and friends show
`gpj.exe` as `exe.jpg`. So text from mail passes through here twice: when it
is stored (so every reader gets it clean) and when it is printed (so records
stored before this module existed are clean too).

What goes: C0 and C1 control characters (a line break only where the text
may have lines), whole escape sequences (CSI, OSC up to its terminator, DCS
and the other string sequences, two-character ones), the bidi embeddings,
overrides and isolates, and invisible format characters that only hide text
(BOM, the deprecated format characters, interlinear annotations). What
stays: every ordinary letter, accent, script and emoji, and the joiners and
marks that correct text needs (ZWJ in emoji, ZWNJ in Persian, LRM/RLM in
Arabic and Hebrew names: they affect only neutral characters next to them).

Pure and quick: text without anything to remove costs one `isprintable()`.
"""

from __future__ import annotations

import re

__all__ = ["clean_line", "clean_text"]

# Escape sequences (ECMA-48), 7-bit forms. String sequences (OSC, DCS, SOS,
# PM, APC) run to their terminator, BEL or ST (ESC \ or U+009C); one without
# a terminator runs to the next ESC or line end, as far as a terminal would
# swallow it on this line. 8-bit introducers (U+0080-U+009F) are not parsed:
# mail decoded as Latin-1 holds them for cp1252 letters (0x9C is "œ"), so they
# go one character at a time with the other controls.
_ESCAPE = (
    r"\x1b\[[0-?]*[ -/]*[@-~]?"  # CSI: ESC [ params intermediates final
    r"|\x1b[\]PX^_][^\x07\x1b\x9c\n]*(?:\x07|\x1b\\|\x9c)?"  # OSC (incl. OSC 8), DCS, ...
    r"|\x1b[ -/]*[0-~]?"  # nF, Fp, Fe, Fs: ESC ( B, ESC 7, ESC c, ... or a lone ESC
)
_HIDDEN = (
    "\u202a-\u202e"  # LRE RLE PDF LRO RLO: embeddings and overrides
    "\u2066-\u2069"  # LRI RLI FSI PDI: isolates
    "\u206a-\u206f"  # deprecated format characters (symmetric swapping, shaping)
    "\ufeff"  # BOM / zero width no-break space
    "\ufff9-\ufffb"  # interlinear annotation
)
_BREAKS = "\n\r\x0b\x0c\x85\u2028\u2029"
_CONTROLS = "\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f"  # C0 and C1 but tab and the breaks

_LINE_RE = re.compile(
    rf"{_ESCAPE}|(?P<space>[\t{_BREAKS}]+)|[{_CONTROLS}{_HIDDEN}]|(?P<sur>[\ud800-\udfff])"
)
_TEXT_RE = re.compile(
    rf"{_ESCAPE}|(?P<nl>\r\n?|[\x0b\x0c\x85\u2028\u2029])|[{_CONTROLS}{_HIDDEN}]"
    r"|(?P<sur>[\ud800-\udfff])"
)
_UNSAFE_TEXT_RE = re.compile(rf"[\x1b\r{_CONTROLS}{_HIDDEN}\x0b\x0c\x85\u2028\u2029\ud800-\udfff]")


def _line_part(m: re.Match[str]) -> str:
    if m.group("space"):
        return " "
    return "\ufffd" if m.group("sur") else ""


def _text_part(m: re.Match[str]) -> str:
    if m.group("nl"):
        return "\n"
    return "\ufffd" if m.group("sur") else ""


def clean_line(text: str) -> str:
    """`text` as one harmless line: escape sequences, controls and bidi overrides
    removed, tabs and line breaks made spaces. Lone surrogates (undecodable
    bytes) become U+FFFD, which every output can encode."""
    if text.isprintable():  # the common case, and no printable character is removed
        return text
    return _LINE_RE.sub(_line_part, text)


def clean_text(text: str) -> str:
    """Like `clean_line`, but lines stay lines: CR LF, CR and the Unicode line
    separators become LF; tabs stay."""
    if text.isprintable() or not _UNSAFE_TEXT_RE.search(text):
        return text
    return _TEXT_RE.sub(_text_part, text)


FORMULA = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet runs a cell starting so


def defuse_formula(value: str) -> str:
    """A CSV cell a spreadsheet keeps as text: names come from strangers' mail, and
    `=HYPERLINK(...)` must stay text. The quote is taken off again on import."""
    return "'" + value if value.lstrip("'").startswith(FORMULA) else value


def restore_formula(value: str) -> str:
    """What `defuse_formula` was given (an address book import reads its own export)."""
    return value[1:] if value.startswith("'") and value.lstrip("'").startswith(FORMULA) else value
