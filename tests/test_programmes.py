"""Programmes, targets and regions on their own (domain.md s9): no database.

The growth path is held to figures worked by hand in docs/programmes.md; the configuration to
errors that name the file and the key; the regions to GB/T 2260 nesting.
"""

from __future__ import annotations

import tomllib
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from projections import regions
from projections.programmes import (
    CONFIG_FILE,
    ConfigError,
    Programme,
    Target,
    expected_by,
    find,
    parse,
    programmes,
    yearly_path,
)

CENT = Decimal("0.01")


def henan() -> Programme:
    [programme] = [p for p in programmes() if p.id == "henan-2021-30"]
    return programme


def target(name: str) -> Target:
    [found] = [t for t in henan().targets if t.name == name]
    return found


def test_the_seeds_henan_programme_is_configured_as_the_seed_says() -> None:
    programme = henan()
    assert (programme.document, programme.region) == ("豫知〔2021〕30号", "410000")
    assert (programme.starts_on, programme.ends_on) == (date(2021, 3, 1), date(2023, 12, 31))
    got = {t.name: (t.indicator, t.measure, t.region_party, t.figure, t.cumulative, t.growth)
           for t in programme.targets}
    assert got == {
        "SME patents": ("K4", "patents", "receiver", 2000, True, Decimal("0.3")),
        "university patents": ("K5", "patents", "giver", 1100, True, 0),
        "pledge financing": ("K6", "amount", "pledgor", 13_000_000_000, True, Decimal("0.2")),
        "pledge projects": ("K6", "projects", "pledgor", 1100, True, Decimal("0.2")),
    }
    assert target("SME patents").growth_measures == ("patents", "amount")
    # It answers to its id, its name and its document number; anything else is refused.
    assert find("豫知〔2021〕30号") == find(programme.name) == programme
    with pytest.raises(ValueError, match="programme 'henan' is not configured"):
        find("henan")


def test_a_cumulative_figure_is_spread_over_the_years_by_its_growth() -> None:
    """13 bn over three years growing 20 % a year: 3.57, 4.29, 5.14 bn (domain.md s9)."""
    path = [y.quantize(Decimal("1E7")) for y in yearly_path(henan(), target("pledge financing"))]
    assert path == [Decimal("3.57E9"), Decimal("4.29E9"), Decimal("5.14E9")]
    assert sum(yearly_path(henan(), target("pledge financing"))).quantize(CENT) == 13_000_000_000
    # No growth: the same share each year.
    assert [y.quantize(CENT) for y in yearly_path(henan(), target("university patents"))] == [
        Decimal("366.67")] * 3


def test_the_path_by_a_date_counts_a_partial_year_by_its_days() -> None:
    """Worked by hand (docs/programmes.md): 2021 has 306 programme days (from 1 March);
    by 30 June 2021, 122 of them have passed; by 30 June 2022, all of 2021 and 181 of 365."""
    programme, pledges = henan(), target("pledge financing")
    year_1 = Decimal(13_000_000_000) / Decimal("3.64")
    year_2 = year_1 * Decimal("1.2")
    assert expected_by(programme, pledges, date(2021, 6, 30)).quantize(CENT) == (
        year_1 * 122 / 306).quantize(CENT) == Decimal("1423902894.49")
    assert expected_by(programme, pledges, date(2022, 6, 30)).quantize(CENT) == (
        year_1 + year_2 * 181 / 365).quantize(CENT) == Decimal("5696673189.82")
    assert expected_by(programme, pledges, date(2021, 2, 28)) == 0  # before the start
    assert expected_by(programme, pledges, date(2021, 3, 1)).quantize(CENT) == (
        year_1 / 306).quantize(CENT)  # the first day counts
    assert expected_by(programme, pledges, date(2023, 12, 31)).quantize(CENT) == 13_000_000_000
    assert expected_by(programme, pledges, date(2026, 1, 1)).quantize(CENT) == 13_000_000_000


def test_an_annual_figure_grows_each_year_and_a_partial_year_gets_its_share() -> None:
    raw = _henan_raw()
    raw["programme"][0]["target"] = [{**raw["programme"][0]["target"][3], "cumulative": False,
                                      "figure": 100, "growth": 0.5}]
    [programme] = parse(raw, "test.toml")
    [yearly] = programme.targets
    # 2021: 100 for a whole year, 306 of 365 days run; 2022: 150; 2023: 225.
    assert [y.quantize(CENT) for y in yearly_path(programme, yearly)] == [
        (Decimal(100) * 306 / 365).quantize(CENT), Decimal("150.00"), Decimal("225.00")]
    assert expected_by(programme, yearly, date(2022, 12, 31)).quantize(CENT) == (
        Decimal(100) * 306 / 365 + 150).quantize(CENT)


def _henan_raw() -> dict[str, Any]:
    with CONFIG_FILE.open("rb") as source:
        return tomllib.load(source)


@pytest.mark.parametrize(("change", "message"), [
    (lambda p: p.pop("region"), "programme[0].region: missing"),
    (lambda p: p.update(region="400000"), "programme[0].region: 400000 is not a GB/T 2260"),
    (lambda p: p.update(ends_on="2023-12-31"), "programme[0].ends_on: has the wrong type"),
    (lambda p: p.update(ends_on=date(2020, 1, 1)), "programme[0].ends_on: is before"),
    (lambda p: p.update(ends_on=date(2035, 1, 1)), "at most 10 calendar years"),
    (lambda p: p.update(colour="red"), "programme[0].colour: unknown key"),
    (lambda p: p.update(target=[]), "programme[0].target: a programme has 1 to 20"),
    (lambda p: p["target"][1].update(measure="value"), "target[1].measure: must be one of"),
    (lambda p: p["target"][1].update(indicator="K9"), "target[1].indicator: must be one of"),
    (lambda p: p["target"][0].update(region_party="giver"),
     "target[0].region_party: K4 counts the region of the receiver"),
    (lambda p: p["target"][0].update(measure="projects"), "only K6 counts them"),
    (lambda p: p["target"][2].update(figure=True), "target[2].figure: has the wrong type"),
    (lambda p: p["target"][2].update(figure=0), "target[2].figure: must be above zero"),
    (lambda p: p["target"][2].update(growth=-1), "target[2].growth: is a yearly rate"),
    (lambda p: p["target"][2].pop("cumulative"), "target[2].cumulative: missing"),
    (lambda p: p["target"][3].update(name="pledge financing"), "is used twice"),
])
def test_a_mistake_in_the_file_names_the_file_and_the_key(change: Any, message: str) -> None:
    raw = _henan_raw()
    change(raw["programme"][0])
    with pytest.raises(ConfigError, match=r"^programmes\.toml: ") as raised:
        parse(raw, "programmes.toml")
    assert message in str(raised.value)


def test_the_file_as_configured_parses_and_an_unreadable_one_is_named(tmp_path: Path) -> None:
    assert parse(_henan_raw(), "x") == programmes()
    broken = tmp_path / "programmes.toml"
    broken.write_text("[[programme]\n")
    with pytest.raises(ConfigError, match=str(broken)):
        programmes(broken)


def test_regions_nest_as_gb_t_2260_codes() -> None:
    assert regions.contains("410000", "410100") and regions.contains("410000", "410102")
    assert regions.contains("410000", "419001")  # Jiyuan, a county-level city of the province
    assert regions.contains("410100", "410102") and not regions.contains("410100", "410302")
    assert not regions.contains("410102", "410100") and not regions.contains("410000", "320100")
    assert regions.contains("CN-34", "CN-34") and not regions.contains("CN-34", "CN-341")
    assert [regions.prefix(c) for c in ("410000", "410100", "410102", "CN-34")] == [
        "41", "4101", "410102", None]
    # A target applies only within its programme's region.
    assert regions.narrower("410000", None) == "410000"
    assert regions.narrower("410000", "410100") == "410100"
    assert regions.narrower("410100", "410000") == "410100"
    with pytest.raises(ValueError, match=r"^region 320000 lies outside"):
        regions.narrower("410000", "320000")
    for bad in ("400000", "410002", "000000"):
        with pytest.raises(ValueError, match=f"^region {bad} is not a GB/T 2260 code"):
            regions.check(bad)
    assert regions.check("CN-34") == "CN-34"  # other labels match only themselves


def test_a_take_ups_facts_name_the_offers_owners_and_fee() -> None:
    """Patent Law art. 51: a take-up is an ordinary licence from the patentee. Its facts take
    the licensors and fee from the offer kept for the patent (owners as they are now); a
    take-up with no offer seen (INV-7 refuses one) is still a fact, never a crash."""
    from projections.deal_facts import COLUMNS, Offers, OpenOffer, Traits, fact_row, follow_offers
    from tests.plain_events import NUMBER, A, C, D, open_declared, open_taken, transfer

    def facts(event: Any, offers: Offers) -> dict[str, Any]:
        traits = {A: Traits("university", None), C: Traits("enterprise", "small"),
                  D: Traits("enterprise", "large")}
        return dict(zip(COLUMNS, fact_row(9, event, traits, offers), strict=True))

    offers: Offers = {}
    declared: set[str] = set()
    moved: dict[str, tuple[str, ...]] = {}
    follow_offers(open_declared("O1", date(2022, 1, 1), date(2026, 1, 1)), offers, declared,
                   moved)
    assert offers[NUMBER] == OpenOffer((A,), "lump_sum", Decimal("1000"), "CNY")
    got = facts(open_taken("U1", date(2022, 2, 1), C), offers)
    assert (got["givers"], got["g_kind"], got["r_size"], got["detail"], got["amount"]) == (
        f'{{"{A}"}}', "university", "small", "open/lump_sum", Decimal("1000"))
    # After the patent is sold, the buyer licenses: a take-up then leaves no university.
    follow_offers(transfer("T1", date(2022, 3, 1), [A], D), offers, declared, moved)
    assert moved == {NUMBER: (D,)} and offers[NUMBER].owners == (D,)
    assert facts(open_taken("U2", date(2022, 4, 1), C), offers)["g_kind"] == "enterprise"
    unseen = facts(open_taken("U3", date(2022, 4, 1), C), {})
    assert (unseen["givers"], unseen["detail"], unseen["amount"]) == ("{}", "open/unknown", None)
