"""The SQL behind a programme's K7 rows: what each target counted from the programme's start.

One statement per question, over the deal facts (`rm_deal_facts`) from the programme's start to
the day asked, with each target's deals chosen by the same conditions as the indicator it names
(`projections/indicator_sql.py` TAGS, so a target cannot count K4 differently from K4) and by
the region of the party the target names (receiver, giver or pledgor; regions nest, see
`projections/regions.py`). Flagged deals are left out unless asked for, as everywhere.
"""

from __future__ import annotations

from projections import regions
from projections.indicator_sql import FLAGGED, condition_of
from projections.programmes import Programme

# The fact column holding the first party on each side: the pledgors are a pledge's givers.
_REGION_COLUMN = {"receiver": "r_region", "giver": "g_region", "pledgor": "g_region"}

_QUERY = """
WITH {flagged}, base AS (
    SELECT f.*, r.region AS r_region, g.region AS g_region
    FROM rm_deal_facts f
    LEFT JOIN flagged fl ON fl.position = f.position
    LEFT JOIN rm_parties r ON r.id = f.receivers[1]
    LEFT JOIN rm_parties g ON g.id = f.givers[1]
    WHERE f.effective_on BETWEEN %(low)s AND %(high)s
      AND f.recorded_at <= %(known_at)s
      AND NOT (%(exclude_flagged)s AND fl.position IS NOT NULL)
      AND ({receiver_in} OR {giver_in})
), tagged AS (
    {tags}
), patents AS (
    SELECT target, count(DISTINCT p) AS np FROM tagged, unnest(patents) AS p GROUP BY 1
)
SELECT t.target, count(*) AS n, sum(t.amount) FILTER (WHERE t.currency = 'CNY') AS amount,
       coalesce(max(p.np), 0) AS np
FROM tagged t LEFT JOIN patents p USING (target)
GROUP BY t.target
"""


def target_query(programme: Programme) -> str:
    """The statement for `programme`'s targets: a row per target that counted anything
    (`target` is its index in the programme), with parameters low, high, known_at,
    exclude_flagged, region and region_prefix (`regions.parameters`)."""
    tags = []
    for index, target in enumerate(programme.targets):
        dimension = "'registered'" if target.indicator == "K6" else None
        in_region = regions.sql_match(f"base.{_REGION_COLUMN[target.region_party]}")
        tags.append(f"SELECT {index} AS target, base.* FROM base "
                    f"WHERE ({condition_of(target.indicator, dimension)}) AND {in_region}")
    return _QUERY.format(flagged=FLAGGED, receiver_in=regions.sql_match("r.region"),
                         giver_in=regions.sql_match("g.region"),
                         tags="\n    UNION ALL\n    ".join(tags))
