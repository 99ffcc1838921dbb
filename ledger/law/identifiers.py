"""Identifiers of patents and parties: validated, normalised, never stored malformed.

domain.md section 2. A bad identifier is a client error (HTTP 422), so every function here
raises `IdentifierError` with a sentence a platform operator can act on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class IdentifierError(ValueError):
    """An identifier that is malformed or whose check character does not match."""


class PatentKind(StrEnum):
    INVENTION = "invention"
    UTILITY_MODEL = "utility_model"
    DESIGN = "design"


# The kind digit T of YYYYTNNNNNNN.C (CNIPA numbering since 2003-10-01).
_KIND_DIGIT = {
    "1": PatentKind.INVENTION,
    "2": PatentKind.UTILITY_MODEL,
    "3": PatentKind.DESIGN,
    "8": PatentKind.INVENTION,  # PCT application entering China, invention
    "9": PatentKind.UTILITY_MODEL,  # PCT application entering China, utility model
}
# Before 2004 the third digit of the 8-digit number carried the kind.
_OLD_KIND_DIGIT = {"1": PatentKind.INVENTION, "2": PatentKind.UTILITY_MODEL, "3": PatentKind.DESIGN}

# ASCII digits only: `\d` alone also matches other scripts' digits (Arabic-Indic, ...).
_CN_NEW = re.compile(r"^(\d{12})\.?([0-9X])$", re.ASCII)
_CN_OLD = re.compile(r"^(\d{8})\.?([0-9X])$", re.ASCII)
_FOREIGN = re.compile(r"^([A-Z]{2})[-:]?([0-9A-Z/]{3,20})$")
_US_KIND_CODE = re.compile(r"^(\d{6,8})(?:[ABPSE]\d?)$", re.ASCII)


@dataclass(frozen=True, slots=True)
class PatentNumber:
    """A normalised patent number: `201710601862.3`, `95115608.X` or `US9227360`."""

    value: str
    scheme: str  # "CN" or a foreign office code such as "US"
    kind: PatentKind | None  # known from the number itself for Chinese numbers

    def __str__(self) -> str:
        return self.value


def cn_check_character(digits: str) -> str:
    """The CNIPA check character: digits times weights 2..9,2..5 summed, mod 11; 10 is X."""
    weights = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5]
    total = sum(int(d) * w for d, w in zip(digits, weights, strict=False))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def parse_patent_number(raw: str) -> PatentNumber:
    """Validate and normalise a patent number; `ZL`/`CN` prefixes and spaces are presentation."""
    text = re.sub(r"[\s,]", "", raw).upper()
    if text.startswith("ZL"):
        text = text[2:]
    if text.startswith("CN") and text[2:3].isdigit():
        text = text[2:]
    for pattern, length in ((_CN_NEW, 12), (_CN_OLD, 8)):
        match = pattern.match(text)
        if match is None:
            continue
        digits, check = match.groups()
        expected = cn_check_character(digits)
        if check != expected:
            raise IdentifierError(
                f"patent number {raw!r}: check character is {check!r}, "
                f"but digits {digits} give {expected!r}"
            )
        kind_table, kind_digit = (
            (_KIND_DIGIT, digits[4]) if length == 12 else (_OLD_KIND_DIGIT, digits[2])
        )
        kind = kind_table.get(kind_digit)
        if kind is None:
            raise IdentifierError(
                f"patent number {raw!r}: kind digit {kind_digit!r} is not one of "
                f"{', '.join(sorted(kind_table))}"
            )
        return PatentNumber(f"{digits}.{check}", "CN", kind)
    match = _FOREIGN.match(text)
    if match and match.group(1) != "CN":
        office, number = match.groups()
        if office == "US":
            us = _US_KIND_CODE.match(number)
            number = us.group(1) if us else number
        return PatentNumber(f"{office}{number}", office, None)
    raise IdentifierError(
        f"patent number {raw!r} is neither a Chinese number (YYYYTNNNNNNN.C or NNNNNNNN.C) "
        "nor a foreign one (office code and number, e.g. US9227360)"
    )


# GB 32100-2015: 31 characters, no I, O, S, V, Z.
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {ch: i for i, ch in enumerate(_USCC_ALPHABET)}
_USCC_WEIGHTS = [pow(3, i, 31) for i in range(17)]


def uscc_check_character(first17: str) -> str:
    """GB 32100-2015 check: weights 3^(i-1) mod 31, check = 31 - (sum mod 31), 31 written 0."""
    total = sum(_USCC_VALUE[ch] * w for ch, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


# GB 11643-1999 resident identity number: ISO 7064 MOD 11-2.
_CNID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def cnid_check_character(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, _CNID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11]


PARTY_SCHEMES = ("uscc", "cnid", "foreign", "ext")


def parse_party_id(raw: str) -> str:
    """Validate and normalise a party id; the scheme is part of the id.

    - `91350100M000100Y43`: a unified social credit code (organisations), kept bare;
    - `cnid:11010519491231002X`: a Chinese resident identity number (individuals);
    - `foreign:US:ACME CORP`: a foreign party, ISO 3166 country and the name or register number;
    - `ext:ANYTHING`: a platform's own id for a party with none of the above (kept as given).
    """
    text = raw.strip()
    if not text:
        raise IdentifierError("party id is empty")
    if ":" not in text:
        return _parse_uscc(text, raw)
    scheme, _, rest = text.partition(":")
    scheme = scheme.lower()
    if scheme == "uscc":
        return _parse_uscc(rest, raw)
    if scheme == "cnid":
        value = rest.strip().upper()
        if not re.fullmatch(r"\d{17}[\dX]", value, re.ASCII):
            raise IdentifierError(f"party id {raw!r}: a resident id has 17 digits and a check")
        expected = cnid_check_character(value[:17])
        if value[17] != expected:
            raise IdentifierError(
                f"party id {raw!r}: check character is {value[17]!r}, expected {expected!r}"
            )
        return f"cnid:{value}"
    if scheme == "foreign":
        country, _, local = rest.partition(":")
        country = country.strip().upper()
        local = " ".join(local.split())
        if not re.fullmatch(r"[A-Z]{2}", country) or country == "CN" or not local:
            raise IdentifierError(
                f"party id {raw!r}: a foreign id is foreign:CC:VALUE with a two-letter "
                "country code other than CN"
            )
        if len(local) > 200:
            raise IdentifierError(f"party id {raw!r}: longer than 200 characters")
        return f"foreign:{country}:{local}"
    if scheme == "ext":
        local = rest.strip()
        if not local or len(local) > 200:
            raise IdentifierError(f"party id {raw!r}: ext:VALUE needs 1 to 200 characters")
        return f"ext:{local}"
    raise IdentifierError(
        f"party id {raw!r}: unknown scheme {scheme!r}; use a bare unified social credit code "
        f"or one of {', '.join(s + ':' for s in PARTY_SCHEMES[1:])}"
    )


def _parse_uscc(text: str, raw: str) -> str:
    code = text.strip().upper()
    if len(code) != 18:
        raise IdentifierError(
            f"party id {raw!r}: a unified social credit code has 18 characters, not {len(code)}"
        )
    bad = sorted({ch for ch in code if ch not in _USCC_VALUE})
    if bad:
        raise IdentifierError(
            f"party id {raw!r}: characters {''.join(bad)!r} are not allowed in a unified "
            "social credit code (no I, O, S, V, Z)"
        )
    expected = uscc_check_character(code[:17])
    if code[17] != expected:
        raise IdentifierError(
            f"party id {raw!r}: check character is {code[17]!r}, expected {expected!r}"
        )
    return code
