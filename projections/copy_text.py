"""Values written as COPY text: cheaper than letting psycopg adapt Python lists row by row."""

from __future__ import annotations

from typing import Any


def array(values: Any) -> str:
    """A PostgreSQL array literal; COPY takes it as text, far cheaper than adapting a list."""
    return "{" + ",".join('"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'
                          for v in values) + "}"
