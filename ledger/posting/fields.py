"""The field types every command is made of: what a client may send in one value.

Each type carries its whole check (lengths, patterns, check characters, the text checks of
`ledger/posting/text.py`) and what the OpenAPI document states about it, so a command model names a
type and never repeats a check, and no field can forget one (tests/test_hostile_text.py
walks the models: no field takes a bare `str`). The document states the shapes the
validators accept; what JSON Schema cannot state (a check character, shares summing to 1)
is a 422 with the field's path.
"""

from __future__ import annotations

import functools
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    StrictInt,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from ledger.law.classification import parse_ipc
from ledger.law.identifiers import parse_party_id, parse_patent_number
from ledger.law.values import FIRST_DAY, ISO_4217, LAST_DAY, MAX_AMOUNT, outside_the_calendar
from ledger.posting import text

MAX_PATENTS_PER_DEAL = 100
MAX_PARTIES_PER_SIDE = 50
MAX_INVENTORS = 50  # names on one inventor change
MAX_TEXT = 2_000


@functools.lru_cache(maxsize=100_000)
def _party(raw: str) -> str:
    """Cached: the same parties and patents recur across deals, the check need not."""
    return parse_party_id(raw)


@functools.lru_cache(maxsize=100_000)
def _patent(raw: str) -> str:
    return parse_patent_number(raw).value


# What the OpenAPI document states about ids, amounts and shares: the shapes the validators
# accept (letters in either case, as they are normalised), all but the check characters,
# which no pattern can compute; a well-shaped id with a wrong check character is a 422.
_USCC = "[0-9A-HJ-NP-RTUWXYa-hj-np-rtuwxy]{18}"
PARTY_ID_PATTERN = (
    rf"^\s*(?:(?:[Uu][Ss][Cc][Cc]:\s*)?{_USCC}|[Cc][Nn][Ii][Dd]:\s*[0-9]{{17}}[0-9Xx]"
    r"|[Ff][Oo][Rr][Ee][Ii][Gg][Nn]:\s*[A-Za-z]{2}\s*:.*\S.*|[Ee][Xx][Tt]:.*\S.*)\s*$"
)
PATENT_NO_PATTERN = (
    r"^(?:(?:[Zz][Ll]|[Cc][Nn])?(?:[0-9]{12}|[0-9]{8})\.?[0-9Xx]"
    r"|[A-Za-z]{2}[-:]?[0-9A-Za-z/]{3,20})$"
)
_ID_DOC = {
    "party": {"type": "string", "minLength": 1, "maxLength": 220, "pattern": PARTY_ID_PATTERN,
              "description": "a unified social credit code (GB 32100-2015, check character "
              "included), cnid:RESIDENT-ID, foreign:CC:NAME or ext:PLATFORM-ID",
              "examples": ["91350100M000100Y43"]},
    "patent": {"type": "string", "minLength": 1, "maxLength": 40, "pattern": PATENT_NO_PATTERN,
               "description": "a CNIPA number with its check character (ZL/CN prefix "
               "optional), or a foreign office code and number such as US9227360",
               "examples": ["201710601862.3"]},
}


_PLAIN_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]*)?(?:\.[0-9]+)?")


def _plain_decimal(value: object) -> object:
    """A decimal string is ASCII digits and at most one point: Python's Decimal alone would
    also read "1_000", " 5", "1e3", "NaN" and full-width digits ("１２"), none of which the
    document allows. A sign passes here so that the bound says what is wrong with "-1"; a
    negative zero ("-0") is no amount anyone writes."""
    if isinstance(value, str) and (not value.strip("-.") or not _PLAIN_DECIMAL.fullmatch(value)
                                   or (value.startswith("-") and not value.strip("-0."))):
        raise PydanticCustomError("decimal_type", "a decimal is written with the digits 0-9 "
                                  "and at most one point, such as \"1000.50\", not {given}",
                                  {"given": repr(value)[:40]})
    return value


def _decimal_doc(pattern: str, bounds: dict[str, float], places: int,
                 example: str) -> WithJsonSchema:
    """A decimal as the document states it: a string of digits (exact: the preferred form)
    or a JSON number, within the bounds the validator checks and with at most `places`
    decimals (which a JSON Schema number cannot state exactly)."""
    return WithJsonSchema({"anyOf": [{"type": "string", "pattern": pattern},
                                     {"type": "number", **bounds}],
                           "examples": [example],
                           "description": f"a decimal with at most {places} decimal places"})


# Every str field is one of these (tests/test_hostile_text.py walks the models to hold it):
# each runs a check of ledger/posting/text.py first, which refuses controls, lone surrogates and bidi
# formatting characters, and for names also blank or invisible text. A party id is checked
# as a name (NFC: a foreign or ext id composed two ways names one party).
PartyId = Annotated[str, StringConstraints(min_length=1, max_length=220),
                    AfterValidator(text.name), AfterValidator(_party),
                    WithJsonSchema(_ID_DOC["party"])]
PatentNo = Annotated[str, StringConstraints(min_length=1, max_length=40),
                     AfterValidator(text.one_line), AfterValidator(_patent),
                     WithJsonSchema(_ID_DOC["patent"])]
DealId = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$"),
    AfterValidator(text.one_line),
]
Reference = Annotated[str, StringConstraints(min_length=1, max_length=100),
                      AfterValidator(text.one_line)]  # an id the ledger derived (an anomaly's)
Name = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT),
                 AfterValidator(text.name)]  # names and titles: NFC, visible, one line
ShortName = Annotated[str, StringConstraints(min_length=1, max_length=200),
                      AfterValidator(text.name)]  # a licence's field
# Stripped, so spaces alone are empty: the pattern tells the document so.
Inventor = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True,
                                           pattern=r"\S"),
                     AfterValidator(text.name)]
FreeText = Annotated[str, StringConstraints(max_length=MAX_TEXT),
                     AfterValidator(text.lines)]  # notes, grounds, reasons: tab, newline allowed
Statement = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT),
                      AfterValidator(text.lines), AfterValidator(text.filled)]  # grounds
# Issue 19: a CNIPA record number as the office prints it: a pledge's registration number
# (登记号, e.g. Y2023980012345), a licence's filing number (备案号, e.g. 2023990000123 or
# X2023110000123): at most two capital letters, the year, then 6 to 12 digits; nothing else.
OFFICIAL_RECORD_PATTERN = r"^[A-Z]{0,2}(?:19[89][0-9]|2[01][0-9]{2})[0-9]{6,12}$"
OfficialRecord = Annotated[str, StringConstraints(min_length=10, max_length=18,
                                                  pattern=OFFICIAL_RECORD_PATTERN),
                           AfterValidator(text.one_line)]
Region = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9-]{2,12}$"),
                   AfterValidator(text.one_line)]
Territory = Annotated[str, StringConstraints(pattern=r"^(\*|[A-Z]{2}(-[A-Z0-9]{1,6})?)$"),
                      AfterValidator(text.one_line)]

# issue 18 (pools): an IPC symbol (ledger/law/classification.py), stored in one spelling.
IpcSymbol = Annotated[str, StringConstraints(min_length=1, max_length=40),
                      AfterValidator(text.one_line), AfterValidator(parse_ipc),
                      WithJsonSchema({"type": "string", "minLength": 1, "maxLength": 40,
                                      "description": "an IPC symbol: section, class, "
                                      "subclass, main group/subgroup",
                                      "examples": ["F16K 1/00"]})]


def _iso_4217(code: str) -> str:
    if code not in ISO_4217:
        raise ValueError(f"{code!r} is not an ISO 4217 currency code")
    return code


Currency = Annotated[str, StringConstraints(min_length=3, max_length=3),
                     AfterValidator(text.one_line), AfterValidator(_iso_4217),
                     WithJsonSchema({"type": "string", "enum": sorted(ISO_4217),
                                     "default": "CNY"})]
Share = Annotated[Decimal, BeforeValidator(_plain_decimal),
                  Field(gt=0, le=1, max_digits=12, decimal_places=10),
                  _decimal_doc(r"^(?:0?\.(?=[0-9]*[1-9])[0-9]{1,10}|1(?:\.0{1,10})?)$",
                               {"exclusiveMinimum": 0, "maximum": 1}, 10, "1")]
Rate = Annotated[Decimal, BeforeValidator(_plain_decimal),
                 Field(ge=0, le=1, max_digits=12, decimal_places=8),
                 _decimal_doc(r"^(?:0?\.[0-9]{1,8}|0|1(?:\.0{1,8})?)$",
                              {"minimum": 0, "maximum": 1}, 8, "0.05")]
Amount = Annotated[Decimal, BeforeValidator(_plain_decimal),
                   Field(ge=0, le=MAX_AMOUNT, max_digits=24, decimal_places=6),
                   _decimal_doc(r"^(?:0|[1-9][0-9]{0,14})(?:\.[0-9]{1,6})?$|^1000000000000000"
                                r"(?:\.0{1,6})?$", {"minimum": 0, "maximum": 1e15}, 6,
                                "100000.00")]


_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_day(value: object) -> object:
    """Dates travel as `YYYY-MM-DD` strings (architecture.md s3): pydantic alone would also
    take 0 as 1970-01-01, 20200101 as a count of seconds and "2020-01-01T00:00" as a day.
    A `date` built in Python (importers, tests) passes; the calendar check comes after."""
    if (isinstance(value, date) and not isinstance(value, datetime)) or (
            isinstance(value, str) and _ISO_DAY.fullmatch(value)):
        return value
    raise PydanticCustomError("date_type", "a date is a string YYYY-MM-DD, not {given}",
                              {"given": type(value).__name__ if not isinstance(value, str)
                               else repr(value)[:40]})


def _recordable(day: date) -> date:
    why = outside_the_calendar(day)
    if why is not None:
        raise PydanticCustomError("date_range", why)
    return day


# The years FIRST_DAY to LAST_DAY as the document states them (a JSON Schema `date` has no
# bounds); the month and day are the calendar's, which `format: date` states.
_RECORDABLE_YEARS = r"^(?:179[0-9]|1[89][0-9]{2}|20[0-9]{2}|21[0-9]{2})-[0-9]{2}-[0-9]{2}$"
assert (FIRST_DAY.year, LAST_DAY.year) == (1790, 2199), "update _RECORDABLE_YEARS with them"

Day = Annotated[date, BeforeValidator(_iso_day), AfterValidator(_recordable),
                WithJsonSchema({"type": "string", "format": "date", "pattern": _RECORDABLE_YEARS,
                                "examples": ["2020-01-01"],
                                "description": f"a day from {FIRST_DAY} to {LAST_DAY}"})]


def _whole(value: object) -> object:
    """JSON has one kind of number: 3496.0 is a whole number, and JSON Schema's `integer`
    (what the OpenAPI document states) accepts it. Anything else goes to StrictInt as it came:
    a fraction, a string or a boolean is refused."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


WholeNumber = Annotated[StrictInt, BeforeValidator(_whole)]
