"""docker-compose.yml (issue 21): a primary, a streaming replica, N API workers reading from it,
and the projector apart. No Docker engine here: `docker compose config -q` runs in .ci/run
where Compose exists; this checks what a reader of the file relies on."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _services() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"])


def test_the_replica_is_a_hot_standby_made_by_pg_basebackup() -> None:
    services = _services()
    primary, replica = services["postgres"], services["replica"]
    assert primary["image"] == replica["image"] == "postgres:15"
    assert "wal_level=replica" in primary["command"]
    init = [v for v in primary["volumes"] if "docker-entrypoint-initdb.d" in v]
    script = (ROOT / init[0].split(":")[0]).read_text()
    assert "REPLICATION LOGIN" in script and "host replication replicator" in script
    entrypoint = (ROOT / "scripts/compose/replica-entrypoint.sh").read_text()
    assert "pg_basebackup" in entrypoint and "--write-recovery-conf" in entrypoint
    assert "hot_standby=on" in entrypoint
    assert replica["user"] == "postgres", "PostgreSQL refuses to run as root"
    assert replica["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_the_api_runs_workers_without_projections_and_reads_from_the_replica() -> None:
    services = _services()
    api, projector = services["api"], services["projector"]
    assert api["command"][:3] == ["patent-ledger", "serve", "--no-projections"]
    assert api["command"][3] == "--workers"
    assert "@replica:5432/" in api["environment"]["LEDGER_READ_DATABASE_URL"]
    assert "@postgres:5432/" in api["environment"]["LEDGER_DATABASE_URL"]
    assert projector["command"] == ["patent-ledger", "project"]
    assert "@postgres:5432/" in projector["environment"]["LEDGER_DATABASE_URL"]


def test_the_compose_scripts_parse() -> None:
    for script in sorted((ROOT / "scripts/compose").glob("*.sh")):
        assert subprocess.run(["bash", "-n", str(script)]).returncode == 0, script
