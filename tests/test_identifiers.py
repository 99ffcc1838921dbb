"""Identifiers of domain.md section 2: real numbers pass, a wrong check character never does."""

from __future__ import annotations

import pytest

from ledger.law.identifiers import IdentifierError, PatentKind, parse_party_id, parse_patent_number


@pytest.mark.parametrize(
    ("raw", "normalised", "kind"),
    [
        ("201710601862.3", "201710601862.3", PatentKind.INVENTION),
        ("ZL 201710601862.3", "201710601862.3", PatentKind.INVENTION),
        ("CN2017106018623", "201710601862.3", PatentKind.INVENTION),
        ("95115608.X", "95115608.X", PatentKind.INVENTION),
        ("zl95115608.x", "95115608.X", PatentKind.INVENTION),
    ],
)
def test_chinese_numbers_are_normalised_with_their_kind(raw: str, normalised: str,
                                                        kind: PatentKind) -> None:
    number = parse_patent_number(raw)
    assert (number.value, number.scheme, number.kind) == (normalised, "CN", kind)


@pytest.mark.parametrize("raw", ["201710601862.4", "95115608.1", "2017106018623.3", "2017X0601862.3"])
def test_wrong_check_character_or_shape_is_refused(raw: str) -> None:
    with pytest.raises(IdentifierError):
        parse_patent_number(raw)


def test_the_check_character_error_says_what_was_expected() -> None:
    with pytest.raises(IdentifierError, match=r"give '3'"):
        parse_patent_number("201710601862.4")


def test_kind_digit_must_be_a_known_kind() -> None:
    from ledger.law.identifiers import cn_check_character

    digits = "201740601862"  # T = 4 is no patent kind
    with pytest.raises(IdentifierError, match="kind digit"):
        parse_patent_number(f"{digits}.{cn_check_character(digits)}")


def test_foreign_numbers_keep_their_office_and_drop_us_kind_codes() -> None:
    assert parse_patent_number("US 9,227,360 B2").value == "US9227360"
    assert parse_patent_number("EP1234567").scheme == "EP"


@pytest.mark.parametrize("code", ["91350100M000100Y43", "914403001922038216", " 91350100m000100y43 "])
def test_real_unified_social_credit_codes_pass(code: str) -> None:
    assert parse_party_id(code) == code.strip().upper()


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("91350100M000100Y44", "check character"),
        ("91350100M000100Y4", "18 characters"),
        ("91350100O000100Y43", "not allowed"),
    ],
)
def test_bad_credit_codes_are_refused_with_the_reason(code: str, message: str) -> None:
    with pytest.raises(IdentifierError, match=message):
        parse_party_id(code)


def test_other_party_schemes_are_part_of_the_id() -> None:
    assert parse_party_id("cnid:11010519491231002x") == "cnid:11010519491231002X"
    assert parse_party_id("foreign:us:ACME  CORP") == "foreign:US:ACME CORP"
    with pytest.raises(IdentifierError, match="check character"):
        parse_party_id("cnid:110105194912310021")
    with pytest.raises(IdentifierError, match="unknown scheme"):
        parse_party_id("passport:E1234")


@pytest.mark.parametrize(("kind", "key"), [("deal", "d-1"), ("patent", "201710601862.3"),
                                           ("party", "91350100M000100Y43"), ("deal", "合同-7")])
def test_stream_ids_stay_the_uuid5_that_stored_logs_use(kind: str, key: str) -> None:
    """Stored events carry these ids: a faster derivation must never change one."""
    from uuid import NAMESPACE_URL, uuid5

    from ledger.law.events import stream_id

    expected = uuid5(uuid5(NAMESPACE_URL, "urn:patent-ledger"), f"{kind}:{key}")
    assert stream_id(kind, key) == expected
    assert stream_id(kind, key).version == 5
