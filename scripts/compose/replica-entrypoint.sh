#!/bin/bash
# docker-compose.yml, service `replica`: a streaming replica of `postgres`, PostgreSQL's own
# machinery. The first time (an empty volume), copy the primary with `pg_basebackup -R`, which
# also writes standby.signal and primary_conninfo; then, every time, run PostgreSQL as a hot
# standby that streams the WAL from the primary and answers read-only queries
# (LEDGER_READ_DATABASE_URL points the API's reads at it).
set -euo pipefail
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    until pg_basebackup --host "$PRIMARY_HOST" --username replicator --pgdata "$PGDATA" \
            --write-recovery-conf --wal-method stream --checkpoint fast; do
        echo "replica: no base backup from $PRIMARY_HOST yet; trying again in 2 s" >&2
        rm -rf "$PGDATA"
        sleep 2
    done
    chmod 0700 "$PGDATA"
fi
exec postgres -c hot_standby=on
