#!/bin/bash
# docker-compose.yml, service `postgres` (the primary): run once by the postgres image when it
# creates the cluster (/docker-entrypoint-initdb.d/). A role that may stream the WAL, and a
# pg_hba.conf line letting it connect for replication (the image's own lines match databases,
# not replication connections).
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -v password="$LEDGER_REPLICATION_PASSWORD" <<'SQL'
CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD :'password';
SQL
echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
