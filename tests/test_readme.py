"""The README's examples answer as printed, on a fresh ledger: what a newcomer tries first.

Every fenced ```bash and ```graphql block of README.md is either run here (curl commands as
test-client calls with a platform key; GraphQL queries with an auditor's or a regulator's key;
`patent-ledger import` as the real command on the same database) or named in SKIPPED with the
reason, so a new block cannot be left untested by accident.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from projections.projectors import Projectors
from tests.ledger_fixtures import KEYS, auth, wait_projected

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
# The README names the shared copy; the tests keep the same file (tests/test_uspto_import.py).
USPTO_FILE = ROOT / "tests" / "data" / "ad20160101.xml"

# Shell lines not run here, each with the reason.
SKIPPED = {
    "bash scripts/dev.sh serve": "starts the service itself: tests/test_serve.py runs `serve`",
    "bash scripts/dev.sh test": "the test suite itself",
    "KEY=dev-platform-...": "the key `serve` prints; here the test's platform key",
    ".venv/bin/patent-ledger serve --workers 4 --no-projections":
        "starts the service itself: tests/test_workers.py runs `serve --workers 2 "
        "--no-projections` beside `project`",
    ".venv/bin/patent-ledger project": "runs until stopped: tests/test_workers.py runs it",
}


def _blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README.read_text(), re.M | re.S)


def _commands(block: str) -> list[list[str]]:
    """The shell commands of a block as words: continuation lines and quoted bodies that span
    lines joined, comments dropped, $KEY as the platform's key."""
    commands, pending = [], ""
    for line in block.replace("\\\n", " ").splitlines():
        pending += line + "\n"
        try:
            words = shlex.split(pending.replace("$KEY", KEYS["platform"]), comments=True)
        except ValueError:  # a quote still open: the command goes on
            continue
        if words:
            commands.append(words)
        pending = ""
    assert not pending.strip(), f"an unfinished command: {pending}"
    return commands


def _operations(block: str) -> list[str]:
    """The top-level GraphQL operations in a block (the demo's block holds three)."""
    found, depth, start = [], 0, 0
    for index, char in enumerate(block):
        if char == "{":
            if depth == 0 and not block[start:index].strip().startswith("query"):
                start = index
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                found.append(block[start:index + 1].strip())
                start = index + 1
    return found


def _curl(client: TestClient, words: list[str]) -> Any:
    """A README curl as a test-client call: -s, -X, -H and -d."""
    assert words[0] == "curl", words
    method, url, headers, body = "GET", "", {}, None
    rest = iter(words[1:])
    for word in rest:
        if word == "-s":
            continue
        if word == "-X":
            method = next(rest)
        elif word == "-H":
            name, _, value = next(rest).partition(":")
            headers[name.strip()] = value.strip()
        elif word == "-d":
            body = next(rest)
            method = "POST" if method == "GET" else method
        else:
            assert not word.startswith("-"), f"an option the test does not know: {word}"
            url = word
    path = "/" + url.split("/", 1)[1]
    return client.request(method, path, headers=headers, content=body)


def _import(database_url: str, words: list[str]) -> str:
    """`patent-ledger import uspto FILE`, run as the command itself on the test's database."""
    assert words[:3] == [".venv/bin/patent-ledger", "import", "uspto"], words
    assert [Path(w).name for w in words[3:]] == [USPTO_FILE.name], words
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env["LEDGER_DATABASE_URL"] = database_url
    done = subprocess.run([sys.executable, "-m", "api.cli", "import", "uspto", str(USPTO_FILE)],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _ask(client: TestClient, query: str) -> dict[str, Any]:
    role = "regulator" if "anomalies" in query else "auditor"
    response = client.post("/graphql", headers=auth(role), json={"query": query})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, f"{query}\n{body['errors']}"
    return dict(body["data"])


def test_every_readme_block_runs_or_is_named_as_skipped(
    client: TestClient, projectors: Projectors, database_url: str
) -> None:
    ran, skipped = [], []
    for block in _blocks("bash"):
        for words in _commands(block):
            command = " ".join(words)
            if command in SKIPPED:
                skipped.append(command)
            elif words[0] == "curl":
                response = _curl(client, words)
                assert response.status_code in (200, 201), f"{command}\n{response.text}"
                ran.append(command)
            elif words[1:3] == ["import", "uspto"]:
                assert "records" in _import(database_url, words)
                ran.append(command)
            else:
                raise AssertionError(f"a README command neither run nor skipped: {command}")
    assert sorted(set(skipped)) == sorted(SKIPPED), "SKIPPED names a line the README lost"
    assert len(ran) == 4, ran  # three curls and the import

    wait_projected(projectors, client.app.state.service.store.head())  # type: ignore[attr-defined]
    queries = [q for block in _blocks("graphql") for q in _operations(block)]
    assert len(queries) == 10, queries
    answers = [_ask(client, query) for query in queries]
    # Issue 18 (outcomes): the README's party is an enterprise, so no university patent idles.
    [idle] = [a["conversions"] for a in answers if "conversions" in a]
    assert idle == {"edges": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}
    # The evaluator's queries: the Henan programme and a K7 row per target of it.
    [listed] = [a["programmes"] for a in answers if "programmes" in a]
    assert [(p["id"], len(p["targets"])) for p in listed] == [("henan-2021-30", 4)]
    [progress] = [a["indicators"] for a in answers
                  if "indicators" in a and any(r["indicator"] == "K7" for r in a["indicators"])]
    assert sorted(r["dimension"] for r in progress if r["target"] is not None) == [
        "target:SME patents", "target:pledge financing", "target:pledge projects",
        "target:university patents"]

    first, known_then = answers[0], answers[1]
    assert first["patent"]["number"] == "201710601862.3"
    assert [(o["party"]["id"], o["share"]) for o in first["patent"]["owners"]] == [
        ("91350100M000100Y43", "1")]
    assert known_then == {"patent": None}, "asKnownAt before it was recorded: not known"
