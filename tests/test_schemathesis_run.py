"""schemathesis, every check and every phase, against a real `serve`, once per role.

What a hand run does (docs/reliability.md, "The OpenAPI document and schemathesis"), bounded
for CI: 5 examples an operation, one worker (two hit a thread race inside hypothesis), a
fixed seed and no example database, so a run is the same run each time. Some 7,000 cases a
role; the four roles run side by side, about 3 minutes on two cores (8 on a slow machine),
started first, beside the other files (tests/conftest.py). schemathesis.toml at the
root adds the project's check (tests/schemathesis_hooks.py) and states which 422s a
schema-valid body may get.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_serve import Server, _free_port

ROOT = Path(__file__).resolve().parent.parent
KEYS = {role: f"st-{role}-key-0123456789" for role in ("platform", "auditor", "regulator", "admin")}
RUN_SECONDS = 900  # all four roles side by side, beside the other worker's tests
# The four runs happen in the first test's setup: its limit, not the suite's 300 s a test.
pytestmark = pytest.mark.timeout(RUN_SECONDS + 120)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    parent = Path(tempfile.mkdtemp(prefix="ledger-schemathesis-"))
    parent.chmod(0o711)  # as root, the `postgres` user must reach it
    port = _free_port()
    served = Server(parent / "data", port,
                    LEDGER_API_KEYS=",".join(f"{r}:{k}" for r, k in KEYS.items()))
    try:
        served.wait_ready()
        # Its log goes on (a line a request): read it, or the full pipe stalls the server.
        assert served.process.stdout is not None
        threading.Thread(target=served.process.stdout.read, daemon=True).start()
        yield served
    finally:
        served.stop()
        shutil.rmtree(parent, ignore_errors=True)


@pytest.fixture(scope="module")
def reports(server: Server) -> dict[str, tuple[int, str]]:
    """Each role's run, the four at once: one run alternates between its client and the
    server, so side by side they use both cores (CI about 2.5 minutes sooner)."""
    runs = {role: subprocess.Popen(
        [str(Path(sys.executable).parent / "schemathesis"),
         "--config-file", str(ROOT / "schemathesis.toml"),
         "run", f"{server.url}/openapi.json", "--checks", "all",
         "-H", f"Authorization: Bearer {key}",
         "--max-examples", "5", "--workers", "1", "--seed", "15",
         "--generation-database", "none", "--no-color"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for role, key in KEYS.items()}
    try:
        return {role: (run.returncode, output) for role, run in runs.items()
                for output in [run.communicate(timeout=RUN_SECONDS)[0]]}
    finally:
        for run in runs.values():
            run.kill()


@pytest.mark.slow
@pytest.mark.parametrize("role", list(KEYS))
def test_schemathesis_finds_nothing_for_any_role(reports: dict[str, tuple[int, str]],
                                                 role: str) -> None:
    returncode, report = reports[role]
    assert returncode == 0, report[-6000:]
    assert " passed" in report and "failure" not in report.split("SUMMARY")[-1], report[-3000:]
