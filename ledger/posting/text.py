"""Text from outside, checked once before anything stores or looks it up.

A ledger keeps what it is given for ever (INV-16), and its projections copy text into
PostgreSQL, which cannot hold NUL, and whose encoder cannot hold a lone surrogate: one such
character, once stored, would stop the read side for good. Characters that reorder how text
is shown (bidi overrides and isolates) let a name display as another. So every string a
client sends passes one of the checks below (the shared field types of `ledger/posting/fields.py`
use them, and so do the REST path parameters and the GraphQL arguments):

- `one_line`: identifiers, codes and arguments; no control character at all (C0, DEL, C1),
  no line or paragraph separator, no lone surrogate, no bidi formatting character or mark;
- `lines`: free text (notes, grounds, reasons); as `one_line`, but tab and newline are
  allowed, and so are the bidi marks (LRM, RLM, ALM) that right-to-left prose needs;
- `name`: names and titles; as `one_line`, then NFC-normalised, and it must show something
  (`filled`): blank, whitespace-only or zero-width-only text is no name.

Each raises `ValueError` with a message that names the character by its code point (never
the character itself: the answer must be printable and encodable).
"""

from __future__ import annotations

import re
import unicodedata

_CONTROLS = "\x00-\x1f\x7f-\x9f"
_SURROGATES = "\ud800-\udfff"
_BIDI_EMBEDDINGS = "\u202a-\u202e\u2066-\u2069"  # LRE..RLO, LRI..PDI
_BIDI_MARKS = "\u200e\u200f\u061c"  # LRM, RLM, ALM
_SEPARATORS = "\u2028\u2029"  # LINE SEPARATOR, PARAGRAPH SEPARATOR

_ONE_LINE_REFUSED = re.compile(
    f"[{_CONTROLS}{_SURROGATES}{_BIDI_EMBEDDINGS}{_BIDI_MARKS}{_SEPARATORS}]")
_LINES_REFUSED = re.compile(
    f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_SURROGATES}{_BIDI_EMBEDDINGS}{_SEPARATORS}]")

# Letters and symbols that draw nothing: Hangul fillers, the blank Braille pattern.
_BLANK_GRAPHICS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def _why(char: str) -> str:
    point = ord(char)
    if 0xD800 <= point <= 0xDFFF:
        return "a lone surrogate, which is not a Unicode character"
    if point < 0x20 or 0x7F <= point <= 0x9F:
        if char in "\t\n":
            return "a tab or line break, which only free text (notes, grounds, reasons) may hold"
        return "a control character"
    if char in "\u2028\u2029":
        return "a line or paragraph separator"
    return "a bidirectional formatting character, which can make text display as other text"


def describe(text: str, index: int) -> str:
    """The refused character at `index`, by code point and position (1-based)."""
    char = text[index]
    return f"character {index + 1} is U+{ord(char):04X}, {_why(char)}"


def one_line(text: str) -> str:
    """Identifiers, codes and arguments: printable, one line, no bidi formatting."""
    found = _ONE_LINE_REFUSED.search(text)
    if found is not None:
        raise ValueError(describe(text, found.start()))
    return text


def lines(text: str) -> str:
    """Free text: as `one_line`, but tab, newline and the bidi marks are allowed."""
    found = _LINES_REFUSED.search(text)
    if found is not None:
        raise ValueError(describe(text, found.start()))
    return text


def visible(char: str) -> bool:
    """A letter, digit, punctuation mark or symbol that draws something."""
    return unicodedata.category(char)[0] in "LNPS" and char not in _BLANK_GRAPHICS


def filled(text: str) -> str:
    """Text that shows something: not blank, whitespace-only or zero-width-only."""
    if not any(visible(char) for char in text):
        raise ValueError("holds no visible character (blank, whitespace or zero-width only)")
    return text


def name(text: str) -> str:
    """Names and titles: one line, NFC, and at least one visible character."""
    one_line(text)
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return filled(text)


CHECKS = (one_line, lines, name)  # every str field of a command passes one of these first
