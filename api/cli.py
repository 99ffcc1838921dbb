"""`patent-ledger`: serve the API, run or rebuild the projections, load a demo, import USPTO
assignments, migrate, and check or export the hash-chained log.

With no LEDGER_DATABASE_URL the ledger runs on an embedded PostgreSQL cluster kept in
LEDGER_DATA_DIR, started from the local binaries, so a fresh machine needs no configuration.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ledger.engine.process_memory import limit_malloc_arenas
from ledger.settings import Settings
from ledger.storage.embedded_postgres import EmbeddedPostgres, PostgresBinariesMissing


class JsonLines(logging.Formatter):
    """One JSON object per log line: easy to grep, easy to ship."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        line: dict[str, object] = {"ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
                                   "level": record.levelname.lower(), "logger": record.name}
        if message.startswith("{"):
            try:
                line.update(json.loads(message))
            except ValueError:
                line["msg"] = message
        else:
            line["msg"] = message
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines())
    logging.basicConfig(level=level, handlers=[handler], force=True)


@contextmanager
def ledger_database(settings: Settings) -> Iterator[str]:
    """The database URL for a command; an embedded cluster started for it is stopped after
    (its data stays in LEDGER_DATA_DIR), one that `serve` runs is only borrowed."""
    url, cluster = database_url(settings)
    try:
        yield url
    finally:
        if cluster is not None:
            cluster.stop()


def database_url(settings: Settings) -> tuple[str, EmbeddedPostgres | None]:
    """The configured database, or the embedded cluster started (or re-attached) for it."""
    if settings.database_url:
        return settings.database_url, None
    cluster = EmbeddedPostgres(settings.data_dir, log=logging.getLogger("ledger.postgres").info)
    cluster.start()
    # A cluster that `serve` already runs is borrowed (rebuild, demo...), never stopped here.
    return cluster.create_database("ledger"), cluster if cluster.started_here else None


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    """The API, the projector child and the checkpointer on one database: in this process
    (the default), or in `--workers N` API processes under this one (api/workers.py)."""
    import dataclasses

    from api.projector_process import ProjectorProcess
    from api.rate_limits import parse_rate_limit
    from api.serving import api_keyring, prepare_database, serve_api
    from api.workers import WorkerPool, listening_sockets, run_worker
    from ledger.integrity.checkpoints import Checkpointer, load_or_create_key
    from ledger.metrics import Metrics

    # Flags win over LEDGER_HOST / LEDGER_PORT: what a uvicorn user types first.
    settings = dataclasses.replace(settings, host=args.host or settings.host,
                                   port=args.port or settings.port)
    if args.worker is not None:  # one of `serve --workers N`'s API processes
        return run_worker(settings, args.worker, args.listen_fd)
    refused = []
    if settings.production and not settings.api_keys:
        refused.append("LEDGER_API_KEYS (role:key,role:key)")
    if settings.production and settings.signing_key is None:
        refused.append("LEDGER_SIGNING_KEY (an Ed25519 PEM file kept outside the database)")
    if refused:
        print(f"LEDGER_ENV=production needs {' and '.join(refused)}; generated development "
              "keys are refused", file=sys.stderr)
        return 2
    signing_key = load_or_create_key(settings.signing_key_path, create=not settings.production)
    parse_rate_limit(settings.rate_limit)  # a bad setting fails before the DB
    keyring = api_keyring(settings, lambda line: print(line, flush=True))
    try:  # a port that is taken fails before the DB too
        sockets = (listening_sockets(settings.host, settings.port, args.workers)
                   if args.workers > 1 else None)
    except OSError as error:
        print(f"patent-ledger: {error.strerror}", file=sys.stderr)
        return 2
    docs = "docs at /docs" if not settings.production or settings.public_docs else "no public docs"
    metrics = Metrics()  # the API's /metrics in one process; the parent's own with workers
    with ledger_database(settings) as url:
        prepare_database(url)
        checkpointer = Checkpointer(url, signing_key).start()
        # The projections fold in a child process of their own (api/projector_process.py).
        projector = ProjectorProcess(url, metrics, settings.projection_batch)
        if not args.no_projections:
            projector.start()
        # uvicorn re-raises SIGTERM once it has shut down; exit through the `finally`
        # blocks so the writers, the projector and the embedded cluster stop cleanly.
        signal.signal(signal.SIGTERM, _exit_cleanly)
        try:
            if sockets is None:
                def ready(position: int) -> None:
                    print(f"patent-ledger serving on http://{settings.host}:{settings.port} "
                          f"({docs}, position {position})", flush=True)

                serve_api(settings, url, keyring, metrics, on_ready=ready)
            else:
                return WorkerPool(sockets, url).serve(lambda count: print(
                    f"patent-ledger serving on http://{settings.host}:{settings.port} "
                    f"({count} workers, {docs})", flush=True))
        finally:
            projector.stop()
            checkpointer.stop()
    return 0


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def cmd_project(settings: Settings, args: argparse.Namespace) -> int:
    """The projections alone: on another machine beside an API started with --no-projections
    (docker-compose), or as `serve`'s child (`--until-stdin-closes`: it stops when `serve`
    closes the pipe or dies, and leaves Ctrl-C to `serve`). One runner per projection is
    active across processes anyway."""
    import threading

    from api.projector_process import watch_parent
    from ledger.metrics import Metrics
    from ledger.storage.migrations import migrate
    from ledger.storage.store import open_store
    from projections.projectors import Projectors, spare_the_collector

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if args.until_stdin_closes:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the terminal's Ctrl-C is serve's
        watch_parent(stop)
    with ledger_database(settings) as url:
        store = open_store(url)
        migrate(url)
        spare_the_collector()  # this process only projects
        projectors = Projectors(url, store, Metrics(), settings.projection_batch).start()
        if args.until_stdin_closes:
            logging.getLogger("ledger.projector_process").info("projecting for serve")
        else:
            print("patent-ledger projecting; SIGTERM or Ctrl-C stops", flush=True)
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
        finally:
            projectors.stop()
            store.close()
    return 0


def cmd_rebuild(settings: Settings, args: argparse.Namespace) -> int:
    from api.progress import ProgressBar
    from ledger.storage.migrations import migrate
    from ledger.storage.store import open_store
    from projections import all_projections
    from projections.rebuild import RebuildFailed, rebuild

    chosen = [p for p in all_projections() if args.projection in ("all", p.name)]
    if not chosen:
        names = ", ".join(p.name for p in all_projections())
        print(f"patent-ledger: no projection {args.projection!r} (known: {names}, all)",
              file=sys.stderr)
        return 2
    with ledger_database(settings) as url:
        store = open_store(url)
        migrate(url)
        for projection in chosen:
            bar = ProgressBar(f"rebuild {projection.name}")
            try:
                position = rebuild(url, store, projection, bar.update)
            except RebuildFailed as failed:
                print(f"\npatent-ledger: {failed}", file=sys.stderr)
                store.close()
                return 1
            bar.finish()
            print(f"{projection.name}: rebuilt up to position {position} and swapped in",
                  flush=True)
        store.close()
    return 0


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    """Load a scenario with planted anomalies and a lawful background flow into the ledger
    (through the command path, beside a running `serve`), then show what to ask."""
    from api.progress import ProgressBar
    from demo.loading import load
    from demo.market import MarketFlow
    from demo.pools import pool_postings
    from demo.scenario import planted_scenario
    from ledger.service import LedgerService

    # Four years of a small market, with a trickle of quick resales for AR-1/AR-2.
    background = MarketFlow(parties=300, patents=3_000, popular=20,
                            deals_per_day=max(args.deals // 1_460, 1), flip_rate=0.01, seed=5)
    postings = [(path, body, "platform") for path, bodies in background.registrations()
                for body in bodies]  # parties, patents, the market's pools
    scenario = planted_scenario()
    postings += scenario.postings
    pooled, pool_queries = pool_postings()  # issue 18 (pools)
    postings += pooled
    postings += [(path, body, "platform") for path, body in background.postings(args.deals)]
    with ledger_database(settings) as url:
        service = LedgerService(url, cache_events=settings.writer_cache).start()
        try:
            bar = ProgressBar("demo", unit="postings")
            stored, refused = load(service, postings, bar.update)
            bar.finish()
        finally:
            service.stop()
    print(f"{stored} postings stored, {len(refused)} refused or replayed"
          f"{' (already loaded?)' if refused else ''}")
    print(DEMO_QUERIES)
    print(pool_queries)  # issue 18 (pools)
    print("\n".join(scenario.queries))  # issue 19 (pledges) and whatever else the scenario shows
    return 0


DEMO_QUERIES = """Paste into GraphiQL at http://127.0.0.1:8000/graphql (header Authorization:
Bearer <auditor or regulator key>):

{ anomalies(first: 20) { edges { node { rule score explanation evidence { dealId kind } } } } }
{ pledges(status: "active", first: 5) { edges { node { dealId pledgee { id }
    securedAmount { amount } patent { number owners { party { id } } } } } } }
{ indicators(from: "2019-01-01", to: "2022-12-31", granularity: "year") {
    indicator period dimension value patents amount yoyGrowth } }
{ conversions(filter: {holderKind: "university", category: "none"}, first: 5) {
    edges { node { number patent { title } } } } }
{ conversions(filter: {category: "industrialised_by_licensee"}, first: 5) {
    edges { node { number since evidence { position kind } } } } }
{ product(id: "OUT-P1") { name owner { id } patents { number
    conversions { category since evidence { position dealId } } }
    reports { year outputValue { amount } employees } } }
{ indicators(from: "2022-01-01", to: "2023-12-31", granularity: "year") {
    indicator dimension value count patents amount yoyGrowth } }   # K11, K12 among them"""


def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    """Import USPTO assignment files through the command path, with a report per run."""
    from pathlib import Path

    from api.progress import ProgressBar
    from importers.uspto import UsptoImport
    from ledger.service import LedgerService

    paths = [Path(p) for p in args.files]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise ValueError(f"no such file: {', '.join(missing)}")
    with ledger_database(settings) as url:
        service = LedgerService(url, cache_events=settings.writer_cache).start()
        try:
            bar = ProgressBar("import uspto", unit="records")
            report = UsptoImport(service, bar.update).run(paths)
            bar.finish()
        finally:
            service.stop()
    print("\n".join(report.lines()))
    return 0


def cmd_verify(settings: Settings, args: argparse.Namespace) -> int:
    """Recompute every event's hash link; exit 1 naming the first event that no longer matches."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from api.progress import ProgressBar
    from ledger.integrity import verifications
    from ledger.integrity.checkpoints import check_checkpoints, load_or_create_key
    from ledger.integrity.verify import verify_log

    if args.public_key:
        public = serialization.load_pem_public_key(Path(args.public_key).read_bytes())
        if not isinstance(public, Ed25519PublicKey):
            raise ValueError(f"{args.public_key} does not hold an Ed25519 public key")
    elif settings.signing_key_path.is_file():
        public = load_or_create_key(settings.signing_key_path, create=False).public_key()
    else:
        public = None  # checkpoints, if any, are reported as unchecked
    with ledger_database(settings) as url:
        bar = ProgressBar("verify")
        verdict = verify_log(url, bar.update)
        bar.finish()
        problems = check_checkpoints(url, public)
        found = ([f"position {verdict.broken.position}: {verdict.broken.problem}"]
                 if verdict.broken is not None else []) + problems
        verifications.record(url, not found, verdict.events, verdict.linked,
                             "; ".join(found)[:2_000] or None)  # the console's health page
    if verdict.broken is not None:
        print(f"BROKEN at position {verdict.broken.position}: {verdict.broken.problem}")
    for problem in problems:
        print(f"BROKEN: {problem}")
    if verdict.broken is not None or problems:
        return 1
    print(f"the chain holds: {verdict.events} events, {verdict.linked} linked "
          f"({verdict.events - verdict.linked} at the tail not linked yet); "
          + ("every signed checkpoint verifies" if public is not None else "no signed checkpoints"))
    return 0


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    """Write an evidence bundle (events, links, checkpoints, public key, verifier script)."""
    from ledger.integrity.checkpoints import load_or_create_key
    from ledger.integrity.evidence import export_bundle

    public = load_or_create_key(settings.signing_key_path, create=False).public_key()
    with ledger_database(settings) as url:
        events, checkpoints = export_bundle(url, Path(args.out), public, args.after)
    print(f"{events} events and {checkpoints} checkpoints written to {args.out}; check them "
          f"with: python3 {Path(args.out) / 'verify_bundle.py'} {args.out}")
    return 0


def cmd_checkpoint(settings: Settings, args: argparse.Namespace) -> int:
    """Sign a checkpoint of the chain now (serve also signs one every minute)."""
    from ledger.integrity.checkpoints import load_or_create_key, make_checkpoint

    key = load_or_create_key(settings.signing_key_path, create=not settings.production)
    with ledger_database(settings) as url:
        made = make_checkpoint(url, key)
    print("nothing new to sign" if made is None else
          f"checkpoint signed at position {made.position} (key {made.key_id})")
    return 0


def cmd_public_key(settings: Settings, args: argparse.Namespace) -> int:
    """Print the public key that checks the checkpoints (publish it to auditors)."""
    from ledger.integrity.checkpoints import load_or_create_key, public_pem

    sys.stdout.write(public_pem(load_or_create_key(settings.signing_key_path, create=False))
                     .decode())
    return 0


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from ledger.storage.migrations import migrate
    from ledger.storage.store import open_store

    with ledger_database(settings) as url:
        open_store(url).close()  # eventsourcing creates its event table first
        applied = migrate(url)
    print(f"migrations applied: {', '.join(applied) if applied else 'none (up to date)'}")
    return 0


def _port(raw: str) -> int:
    """A TCP port for --port: a clear argparse error rather than uvicorn's traceback."""
    if not raw.isdigit() or not 1 <= int(raw) <= 65_535:
        raise argparse.ArgumentTypeError(f"a port is a whole number from 1 to 65535, not {raw!r}")
    return int(raw)


def _workers(raw: str) -> int:
    from api.workers import worker_count

    return worker_count(raw)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="patent-ledger", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = sub.add_parser("serve", help="run the API, and the projections in a child process")
    serve.add_argument("--no-projections", action="store_true",
                       help="the API only (run `patent-ledger project` elsewhere)")
    serve.add_argument("--host", help="the address to listen on (default: LEDGER_HOST, "
                       "else 127.0.0.1; 0.0.0.0 for every interface)")
    serve.add_argument("--port", type=_port, help="the TCP port to listen on (default: "
                       "LEDGER_PORT, else 8000)")
    serve.add_argument("--workers", type=_workers, default=1, metavar="N",
                       help="API processes on the port (1 to 8, default 1); one projector "
                       "and one checkpointer whatever N")
    serve.add_argument("--worker", type=int, help=argparse.SUPPRESS)  # api/workers.py's child
    serve.add_argument("--listen-fd", type=int, help=argparse.SUPPRESS)
    project = sub.add_parser("project", help="run the projections only")
    project.add_argument("--until-stdin-closes", action="store_true", help=argparse.SUPPRESS)
    rebuild = sub.add_parser("rebuild", help="rebuild projections from the log, then swap")
    rebuild.add_argument("projection", nargs="?", default="all",
                         help="a projection's name, or all (default)")
    demo = sub.add_parser("demo", help="load a demo scenario with planted anomalies")
    demo.add_argument("--deals", type=int, default=5_000,
                      help="background postings to add: deals, and a few per thousand "
                      "qualifications, size changes, classifications, risk payments")
    sub.add_parser("migrate", help="create or update the database tables")
    verify = sub.add_parser("verify", help="recompute the hash chain and check the signed "
                            "checkpoints; exit 1 at the first break")
    verify.add_argument("--public-key", help="an Ed25519 public key (PEM) to check the "
                        "checkpoints with; default: the signing key's")
    sub.add_parser("checkpoint", help="sign a checkpoint of the hash chain now")
    sub.add_parser("public-key", help="print the public key that checks the checkpoints and "
                   "inclusion proofs")
    export = sub.add_parser("export", help="write an evidence bundle to check offline")
    export.add_argument("--out", required=True, help="the bundle's directory")
    export.add_argument("--from", dest="after", type=int, default=0, metavar="POSITION",
                        help="start after this log position (a long log in parts; default: "
                        "the whole log)")
    importer = sub.add_parser("import", help="import deals recorded elsewhere (USPTO "
                              "assignment files) through the ledger's command path")
    importer.add_argument("source", choices=["uspto"], help="uspto: USPTO assignment XML")
    importer.add_argument("files", nargs="+", help="ad*.xml daily assignment files")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    limit_malloc_arenas()  # before any thread: the heap stays compact (its module says why)
    args = build_parser().parse_args(argv)
    configure_logging()
    try:
        settings = Settings.from_environment()
        handler = {"serve": cmd_serve, "project": cmd_project, "rebuild": cmd_rebuild,
                   "demo": cmd_demo, "migrate": cmd_migrate, "import": cmd_import,
                   "verify": cmd_verify, "checkpoint": cmd_checkpoint,
                   "export": cmd_export, "public-key": cmd_public_key}[args.command]
        return handler(settings, args)
    except PostgresBinariesMissing as error:
        print(f"patent-ledger: {error}", file=sys.stderr)
        return 3
    except ValueError as error:
        print(f"patent-ledger: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
