"""Which deal facts are conversion outcomes, and of which category (domain.md s10.1, issue 18).

One SQL expression over a row of `rm_deal_facts` gives its category, or NULL when it is no
conversion, so K11 (`projections/indicator_sql.py`), a patent's `conversions` and the
`conversions` list (`projections/conversion_reads.py`) cannot disagree:

- `transfer` -> transferred (a merger or name change is `succession`: no conversion);
- `equity_contribution` -> equity_contributed; `open_licence_take_up` -> open_licensed;
- `licence` -> ordinary_, sole_ or exclusive_licensed by its kind (the fact's `detail` is
  `<licence kind>/<fee mode>`); a sub-licence counts as a licence of its kind;
- `industrialisation` (an IndustrialisationReported fact) -> its `detail`, the category the
  report was judged in (industrialised_by_licensee / industrialised_by_partner);
- `pool_entry` -> pooled.

A `pool_entry` fact's `givers` are the entering owners (`projections/deal_facts.py`). A pool
licence's fact is `pool/<fee mode>` (K2 counts it as kind "pool"), or `pool:sole/...` and
`pool:exclusive/...` where the administrator stated another kind: it converts as a licence of
that kind (see `LICENCE_KINDS`).
"""

from __future__ import annotations

from ledger.law.outcomes import CONVERSIONS, NO_CONVERSION, Conversion

# The fact kinds a conversion can come from (rm_deal_facts_by_kind serves the filter).
CONVERSION_KINDS: tuple[str, ...] = ("transfer", "equity_contribution", "open_licence_take_up",
                                     "licence", "industrialisation", "pool_entry")
LICENCE_KINDS = {"ordinary": Conversion.ORDINARY_LICENSED, "sole": Conversion.SOLE_LICENSED,
                 "exclusive": Conversion.EXCLUSIVE_LICENSED,
                 # a pool licence (deal_facts: `pool/<fee>`, ordinary unless stated, s10.3)
                 "pool": Conversion.ORDINARY_LICENSED, "pool:sole": Conversion.SOLE_LICENSED,
                 "pool:exclusive": Conversion.EXCLUSIVE_LICENSED}
INDUSTRIALISED = (Conversion.INDUSTRIALISED_BY_LICENSEE, Conversion.INDUSTRIALISED_BY_PARTNER)

_LICENCE_CASE = " ".join(f"WHEN '{kind}' THEN '{category.value}'"
                         for kind, category in LICENCE_KINDS.items())
_INDUSTRIALISED = ", ".join(f"'{c.value}'" for c in INDUSTRIALISED)

# The category of a fact row (columns unqualified: `kind`, `detail`), NULL for none.
CATEGORY_SQL = (
    "(CASE kind"
    f" WHEN 'transfer' THEN '{Conversion.TRANSFERRED.value}'"
    f" WHEN 'equity_contribution' THEN '{Conversion.EQUITY_CONTRIBUTED.value}'"
    f" WHEN 'open_licence_take_up' THEN '{Conversion.OPEN_LICENSED.value}'"
    f" WHEN 'licence' THEN (CASE split_part(detail, '/', 1) {_LICENCE_CASE} END)"
    f" WHEN 'industrialisation' THEN (CASE WHEN detail IN ({_INDUSTRIALISED}) THEN detail END)"
    f" WHEN 'pool_entry' THEN '{Conversion.POOLED.value}'"
    " END)"
)

# K11 (indicators): each conversion by category, and by category and the holder's kind
# (`<category>:<kind of the first giver>`, `unknown` when not registered). Regions are asked
# as for K1..K10: a region matches the holder's or the receiver's.
K11_TAGS: list[tuple[str, str, str]] = [
    ("K11", CATEGORY_SQL, f"{CATEGORY_SQL} IS NOT NULL"),
    ("K11", f"{CATEGORY_SQL} || ':' || coalesce(g_kind, 'unknown')",
     f"{CATEGORY_SQL} IS NOT NULL"),
]

CATEGORIES_ASKED: tuple[str, ...] = (*CONVERSIONS, NO_CONVERSION)
