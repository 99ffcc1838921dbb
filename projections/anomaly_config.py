"""The anomaly rules' parameters, read once from `config/anomaly_rules.toml`.

One reviewed file holds every threshold; each rule's `version` is stamped on the flags it
raises, so a flag stays explainable after a parameter changes.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

CONFIG_FILE = Path(__file__).resolve().parent.parent / "config" / "anomaly_rules.toml"
RULES = ("AR-1", "AR-2", "AR-3", "AR-4", "AR-5", "AR-6", "AR-7", "AR-8", "AR-9", "AR-10",
         "AR-11", "AR-12", "AR-13")


@dataclass(frozen=True, slots=True)
class RuleParams:
    rule: str
    version: int
    score: float
    values: dict[str, Any]

    def days(self, name: str) -> int:
        return int(self.values[name])

    def count(self, name: str) -> int:
        return int(self.values[name])

    def amount(self, name: str) -> Decimal:
        return Decimal(str(self.values[name]))

    def number(self, name: str) -> float:
        return float(self.values[name])

    def names(self, name: str) -> frozenset[str]:
        return frozenset(self.values[name])


class ConfigError(ValueError):
    pass


@cache
def credit_params(path: Path = CONFIG_FILE) -> RuleParams:
    """The credit section: how long marks count, when repair may be asked, consequences."""
    with path.open("rb") as source:
        section = dict(tomllib.load(source).get("credit", {}))
    if "version" not in section:
        raise ConfigError(f"{path} lacks a [credit] section with a version")
    return RuleParams("credit", int(section.pop("version")), 0.0, section)


@cache
def rule_params(path: Path = CONFIG_FILE) -> dict[str, RuleParams]:
    with path.open("rb") as source:
        raw = tomllib.load(source)
    missing = [rule for rule in RULES if rule not in raw]
    if missing:
        raise ConfigError(f"{path} lacks {', '.join(missing)}")
    params = {}
    for rule in RULES:
        section = dict(raw[rule])
        try:
            version, score = int(section.pop("version")), float(section.pop("score"))
        except KeyError as error:
            raise ConfigError(f"{path}: {rule} needs {error.args[0]}") from None
        if not 0 <= score <= 1:
            raise ConfigError(f"{path}: {rule} score must be between 0 and 1")
        params[rule] = RuleParams(rule, version, score, section)
    return params
