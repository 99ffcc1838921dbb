"""Programmes and their targets (domain.md s9), read once from `config/programmes.toml`.

A programme is a policy document's plan: who issued it, for which region (GB/T 2260), from when
to when, and the targets it sets. A target names what it counts (an indicator and a measure),
whose region counts (the receiver for K4, the giver for K5, the pledgor for K6), a figure,
whether the figure is cumulative over the programme or per year, and the yearly growth the
programme asks for. The file is reviewed like `config/anomaly_rules.toml`; a mistake in it is a
`ConfigError` naming the file and the key, raised when the file is first read (at start).

The growth path (docs/programmes.md works the Henan figures by hand):
- the programme's years are the calendar years it touches, k = 1..n (2021-03-01 to 2023-12-31:
  2021, 2022, 2023, n = 3);
- a cumulative figure F growing by g a year expects F (1+g)^(k-1) / sum_{i=1..n} (1+g)^(i-1) in
  year k (13 bn at 20 %: 3.571, 4.286, 5.143 bn); an annual figure F expects F (1+g)^(k-1) in
  a whole year k, and that times the share of year k's days the programme runs in a partial one;
- within a year the expectation accrues by days, evenly over the days the programme runs in
  that year: by 2021-06-30 (122 of 2021's 306 programme days) the pledge amount path expects
  3.571 bn * 122 / 306 = 1.424 bn. A cumulative path so reaches exactly F on the last day.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from projections import regions

CONFIG_FILE = Path(__file__).resolve().parent.parent / "config" / "programmes.toml"
MEASURES = ("count", "patents", "amount", "projects")
# Which indicators a target may name, and whose region counts for each (domain.md s9: K4 the
# receiver, K5 the giver, K6 the pledgor; K1-K3 either side of the deal).
REGION_PARTIES: dict[str, tuple[str, ...]] = {
    "K1": ("giver", "receiver"), "K2": ("giver", "receiver"), "K3": ("giver", "receiver"),
    "K4": ("receiver",), "K5": ("giver",), "K6": ("pledgor",),
}
MAX_PROGRAMMES = 100
MAX_TARGETS = 20
MAX_YEARS = 10  # a programme spans at most ten calendar years (the indicators' own bound)
_TEXT = 500  # characters in a name, authority, document or basis


class ConfigError(ValueError):
    """A mistake in the programmes file, naming the file and the key."""


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    basis: str  # the seed's own words
    indicator: str
    measure: str  # count (deals), patents (distinct), amount (CNY), projects (pledges)
    region_party: str  # receiver, giver or pledgor
    figure: Decimal
    cumulative: bool
    growth: Decimal  # yearly, 0.20 for 20 %
    growth_measures: tuple[str, ...]  # the measures the growth is asked of (documentation)


@dataclass(frozen=True, slots=True)
class Programme:
    id: str
    name: str
    document: str
    authority: str
    region: str
    starts_on: date
    ends_on: date
    targets: tuple[Target, ...]

    def years(self) -> list[int]:
        return list(range(self.starts_on.year, self.ends_on.year + 1))

    def answers_to(self, asked: str) -> bool:
        """Whether the `programme` argument `asked` names this programme (its id, its name
        or its document number)."""
        return asked in (self.id, self.name, self.document)


def _days_in_year(programme: Programme, year: int, until: date | None = None) -> int:
    """The days of `year` the programme runs (up to and including `until`)."""
    first = max(programme.starts_on, date(year, 1, 1))
    last = min(programme.ends_on, date(year, 12, 31), until or date.max)
    return max((last - first).days + 1, 0)


def yearly_path(programme: Programme, target: Target) -> list[Decimal]:
    """What the target expects in each of the programme's calendar years (module docstring)."""
    weights = [(1 + target.growth) ** k for k in range(len(programme.years()))]
    if target.cumulative:
        total = sum(weights, Decimal(0))
        return [target.figure * w / total for w in weights]
    path = []
    for year, weight in zip(programme.years(), weights, strict=True):
        whole = (date(year, 12, 31) - date(year, 1, 1)).days + 1
        path.append(target.figure * weight * _days_in_year(programme, year) / whole)
    return path


def expected_by(programme: Programme, target: Target, day: date) -> Decimal:
    """What the target's path expects achieved from the programme's start up to `day`
    (inclusive): earlier years whole, `day`'s year by its share of days."""
    if day < programme.starts_on:
        return Decimal(0)
    expected = Decimal(0)
    for year, share in zip(programme.years(), yearly_path(programme, target), strict=True):
        if year < day.year:
            expected += share
        elif year == day.year:
            expected += share * _days_in_year(programme, year, day) / _days_in_year(
                programme, year)
    return expected


def counted_until(programme: Programme, to: date) -> date:
    """The last day counted towards a programme for a query up to `to`: deals after its end
    belong to no target of it."""
    return min(to, programme.ends_on)


# --- the file -------------------------------------------------------------------------------


@cache
def programmes(path: Path = CONFIG_FILE) -> tuple[Programme, ...]:
    try:
        with path.open("rb") as source:
            raw = tomllib.load(source)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: {error}") from None
    return parse(raw, str(path))


def find(asked: str, path: Path = CONFIG_FILE) -> Programme:
    for programme in programmes(path):
        if programme.answers_to(asked):
            return programme
    known = ", ".join(p.id for p in programmes(path)) or "none configured"
    raise ValueError(f"programme {asked!r} is not configured (known: {known}; an id, a name "
                     "or a document number)")


def parse(raw: dict[str, Any], source: str) -> tuple[Programme, ...]:
    unknown = set(raw) - {"programme"}
    if unknown:
        raise ConfigError(f"{source}: unknown key {sorted(unknown)[0]!r} (only [[programme]])")
    items = raw.get("programme", [])
    if not isinstance(items, list) or len(items) > MAX_PROGRAMMES:
        raise ConfigError(f"{source}: programme must be a list of at most {MAX_PROGRAMMES}")
    found = tuple(_programme(item, f"{source}: programme[{i}]") for i, item in enumerate(items))
    ids = [p.id for p in found]
    for i, programme_id in enumerate(ids):
        if programme_id in ids[:i]:
            raise ConfigError(f"{source}: programme[{i}].id {programme_id!r} is used twice")
    return found


class _Section:
    """One table of the file, read key by key so every error names its key."""

    def __init__(self, raw: Any, where: str, keys: set[str]) -> None:
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: must be a table")
        unknown = set(raw) - keys
        if unknown:
            raise ConfigError(f"{where}.{sorted(unknown)[0]}: unknown key")
        self.raw, self.where = raw, where

    def fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"{self.where}.{key}: {message}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
        if key not in self.raw:
            if default is None:
                raise self.fail(key, "missing")
            return default
        value = self.raw[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            raise self.fail(key, f"has the wrong type ({type(value).__name__})")
        return value

    def text(self, key: str) -> str:
        value = str(self.get(key, str)).strip()
        if not value or len(value) > _TEXT:
            raise self.fail(key, f"must be 1 to {_TEXT} characters")
        return value

    def day(self, key: str) -> date:
        value = self.get(key, date)
        if not isinstance(value, date) or hasattr(value, "hour"):
            raise self.fail(key, "must be a date (YYYY-MM-DD, unquoted)")
        return value

    def decimal(self, key: str, default: Any = None) -> Decimal:
        return Decimal(str(self.get(key, (int, float), default)))


_PROGRAMME_KEYS = {"id", "name", "document", "authority", "region", "starts_on", "ends_on",
                   "target"}
_TARGET_KEYS = {"name", "basis", "indicator", "measure", "region_party", "figure",
                "cumulative", "growth", "growth_measures"}


def _programme(raw: Any, where: str) -> Programme:
    s = _Section(raw, where, _PROGRAMME_KEYS)
    region = s.text("region")
    if not regions.is_division_code(region):
        raise s.fail("region", f"{region} is not a GB/T 2260 code")
    starts_on, ends_on = s.day("starts_on"), s.day("ends_on")
    if ends_on < starts_on:
        raise s.fail("ends_on", "is before starts_on")
    if ends_on.year - starts_on.year + 1 > MAX_YEARS:
        raise s.fail("ends_on", f"a programme spans at most {MAX_YEARS} calendar years")
    items = s.get("target", list, [])
    if not 1 <= len(items) <= MAX_TARGETS:
        raise s.fail("target", f"a programme has 1 to {MAX_TARGETS} targets")
    targets = tuple(_target(item, f"{where}.target[{i}]") for i, item in enumerate(items))
    names = [t.name for t in targets]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise ConfigError(f"{where}.target[{i}].name: {name!r} is used twice")
    programme_id = s.text("id")
    if not programme_id.replace("-", "").replace("_", "").isalnum() or not programme_id.isascii():
        raise s.fail("id", "must be ASCII letters, digits, - and _")
    return Programme(programme_id, s.text("name"), s.text("document"), s.text("authority"),
                     region, starts_on, ends_on, targets)


def _target(raw: Any, where: str) -> Target:
    s = _Section(raw, where, _TARGET_KEYS)
    indicator, measure = s.text("indicator"), s.text("measure")
    if indicator not in REGION_PARTIES:
        raise s.fail("indicator", f"must be one of {', '.join(REGION_PARTIES)}")
    if measure not in MEASURES:
        raise s.fail("measure", f"must be one of {', '.join(MEASURES)}")
    if measure == "projects" and indicator != "K6":
        raise s.fail("measure", "projects are pledges: only K6 counts them")
    region_party = s.text("region_party")
    if region_party not in REGION_PARTIES[indicator]:
        raise s.fail("region_party", f"{indicator} counts the region of the "
                                     f"{' or '.join(REGION_PARTIES[indicator])}")
    figure = s.decimal("figure")
    if not figure > 0:
        raise s.fail("figure", "must be above zero")
    growth = s.decimal("growth", 0)
    if not Decimal(-1) < growth <= Decimal(10):
        raise s.fail("growth", "is a yearly rate: above -1, at most 10 (0.2 is 20 %)")
    growth_measures = tuple(s.get("growth_measures", list, [measure]))
    if not all(m in MEASURES for m in growth_measures):
        raise s.fail("growth_measures", f"each must be one of {', '.join(MEASURES)}")
    return Target(s.text("name"), s.text("basis"), indicator, measure, region_party, figure,
                  bool(s.get("cumulative", bool)), growth, growth_measures)
