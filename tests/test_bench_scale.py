"""The scale run end to end at a tiny size: a real `serve` (the README's entry point, its own
embedded PostgreSQL), grown through the REST API, restarted at two sizes, and a BENCHMARKS.md
section with every figure. Speed is not asserted; that the figures exist and hang together is."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import pytest

from bench import scale
from bench.http_client import Connection


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_scale_run_restarts_serve_at_each_size_and_reports_every_figure(
        tmp_path: Path) -> None:
    args = argparse.Namespace(sizes=[1_500, 3_000], events=None, single_deals=160, batches=1,
                              queries=20, start_timeout=120.0, catch_up_timeout=300.0,
                              workdir=None, keep=False, mix="national",
                              replica=True)  # as root, pytest's tmp_path is closed to `postgres`
    result = scale.run(args)
    out = tmp_path / "BENCHMARKS.md"
    scale.write_report(result, args, out)

    sizes = result["sizes"]
    assert [s["events"] // 1_000 for s in sizes] == [1, 3]  # grown to each size, not beyond
    assert sizes[0]["events"] >= 1_500 and sizes[1]["events"] >= 3_000
    for size in sizes:
        assert 0 < size["healthy_s"] <= size["first_write_s"]
        assert size["serve"]["processes"] >= 2  # serve and its batch preparer, at least
        assert size["serve"]["rss_mib"] > 50
        assert size["postgres"]["processes"] >= 2  # the postmaster and its backends
        assert size["single"] > 0 and size["batches"] > 0 and size["load_rate"] > 0
        assert 0 < size["patent_p50_ms"] <= size["patent_p99_ms"]
        assert size["shortest_history"] >= 1
        figures = size["figures"]  # issue 21
        assert figures["verify_s"] > 0 and figures["export_s"] > 0
        assert figures["exported"] > size["events"]  # the whole log, its later deals too
        assert figures["catch_up_rate"] >= 0  # 0: nothing behind when the load ended
        assert figures["primary"]["indicators_p99_ms"] > 0
        replica = figures["replica"]
        assert replica["not_measured"] is None, replica
        assert replica["patent_p99_ms"] > 0 and replica["indicators_p99_ms"] > 0
        tables = dict(figures["tables"])
        assert tables["ledger_events"] == sum(b for *_, b in figures["partitions"]) > 0
        assert {kind for kind, _ in figures["kinds"]} >= {
            "PatentRegistered", "PatentStatusChanged", "OwnershipTransferred", "LicenceGranted"}

    text = out.read_text()
    section = text[text.index("<!-- bench:scale-national -->"):text.index("<!-- /bench:scale-national -->")]
    assert "bash scripts/dev.sh bench scale   # = python -m bench.scale --sizes 1500,3000" \
        in section
    assert "Machine: " in section
    for size in sizes:
        assert f"| {size['events']:,} |" in section
    for line in ("| events | verify | export (events) | catch-up after the load | patent p99",
                 "| ledger_events |", "| ledger_events_from_1 | 1 |", "| kind | events | share |",
                 "fee lapses"):
        assert line in section
    for bar in ("< 1,024 MiB", "within 30%", "restart to healthy", "patent p99"):
        assert bar in section
    assert "stopped short of 1,000,000" in section  # the bars say where they were measured
    assert not Path(result["workdir"]).exists()  # its data directory is gone


def test_the_benchmark_client_encodes_each_body_itself() -> None:
    """Pre-encoded bodies would keep the client's work off the clock."""
    post = Connection("127.0.0.1", 9, "key").post("/v1/deals", b'{"deal_id": "x"}')
    with pytest.raises(TypeError, match="encodes it per request"):
        asyncio.run(post)
