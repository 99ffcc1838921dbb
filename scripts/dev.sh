#!/usr/bin/env bash
# One entry point for a fresh Debian machine: installs what is missing, then serves or tests.
#   bash scripts/dev.sh serve   the API and the console (/console/) on the embedded PostgreSQL
#                               (data in .ledger-data/)
#   bash scripts/dev.sh test    ruff, mypy, import contracts and the whole pytest suite against real PostgreSQL
#   bash scripts/dev.sh bench [write|read|import|scale]   benchmarks (write BENCHMARKS.md; all
#                               but scale by default: scale loads 3,000,000 events (issue
#                               16, about an hour); scale --events 10000000 a national decade)
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[dev] %s\n' "$*" >&2; }

have_postgres() {
    compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null
}

ensure_postgres() {
    have_postgres && return 0
    [ -n "${LEDGER_DATABASE_URL:-}${TEST_DATABASE_URL:-}" ] && return 0
    say "PostgreSQL binaries missing: installing Debian's postgresql package"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
}

ensure_python() {
    if ! command -v uv >/dev/null; then
        say "installing uv"
        python3 -m pip install -q --disable-pip-version-check uv
    fi
    if [ ! -x .venv/bin/python ]; then
        say "creating .venv"
        uv venv -q .venv -p "${PYTHON:-python3.11}"
    fi
    if [ ! -f .venv/.installed ] || [ requirements.lock -nt .venv/.installed ] \
        || [ pyproject.toml -nt .venv/.installed ]; then
        say "installing locked dependencies"
        uv pip sync -q -p .venv/bin/python requirements.lock
        uv pip install -q -p .venv/bin/python --no-deps -e .
        touch .venv/.installed
    fi
}

ensure_console() {
    # The console's browser libraries (ECharts, GraphiQL, React, Swagger UI), from the npm
    # registry at the versions console/package-lock.json pins; served by the ledger itself.
    if [ ! -f console/node_modules/.installed ] \
        || [ console/package-lock.json -nt console/node_modules/.installed ]; then
        if ! command -v npm >/dev/null; then
            say "npm missing: installing Debian's nodejs and npm packages"
            apt_install nodejs npm
        fi
        say "installing the console's locked browser assets (npm ci)"
        (cd console && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
        touch console/node_modules/.installed
    fi
}

ensure_chromium() {
    # The browser tests drive Debian's chromium through Playwright (no browser download).
    command -v chromium >/dev/null && return 0
    say "chromium missing: installing Debian's chromium package (browser tests)"
    apt_install chromium
}

apt_install() {
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

command=${1:-}
shift || true
case "$command" in
    serve)
        ensure_postgres
        ensure_python
        ensure_console
        exec .venv/bin/patent-ledger serve "$@"
        ;;
    test)
        ensure_postgres
        ensure_python
        ensure_console
        ensure_chromium
        say "ruff"
        .venv/bin/ruff check .
        say "mypy"
        .venv/bin/mypy
        say "import contracts"
        .venv/bin/lint-imports --no-cache >/dev/null || .venv/bin/lint-imports --no-cache
        say "pytest"
        # On every core (pytest-xdist): each worker starts its own PostgreSQL; a file's tests
        # stay on one worker, so a module's server (schemathesis, the browser) starts once.
        # Files are handed out in the order tests/conftest.py gives them: the longest first.
        exec .venv/bin/python -m pytest -q -n "${LEDGER_TEST_WORKERS:-auto}" --dist loadfile \
            --no-loadscope-reorder "$@"
        ;;
    bench)
        ensure_postgres
        ensure_python
        which=${1:-all}
        shift || true
        case "$which" in
            write) exec .venv/bin/python -m bench.write_path "$@" ;;
            read) exec .venv/bin/python -m bench.read_path "$@" ;;
            import) exec .venv/bin/python -m bench.import_path "$@" ;;
            scale) exec .venv/bin/python -m bench.scale "$@" ;;
            all) .venv/bin/python -m bench.write_path \
                    && .venv/bin/python -m bench.import_path \
                    && exec .venv/bin/python -m bench.read_path ;;
            *) echo "usage: bash scripts/dev.sh bench [write|read|import|scale|all] [options]" >&2
               exit 2 ;;
        esac
        ;;
    lock)
        ensure_python
        uv pip compile -q pyproject.toml --extra dev -o requirements.lock
        ;;
    *)
        echo "usage: bash scripts/dev.sh serve|test|bench|lock" >&2
        exit 2
        ;;
esac
