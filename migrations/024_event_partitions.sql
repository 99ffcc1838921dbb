-- Issue 21: the event table partitioned by position range (native declarative partitioning), so
-- old ranges can be moved to cheaper storage (docs/architecture.md, "The event table's
-- partitions") while `verify`, `export`, the projections and the writer read across them as one
-- table. ledger/storage/partitions.py holds the why; this file the how.
--
-- The table belongs to eventsourcing, which creates it (a plain table) before migrations run and
-- afterwards only says `CREATE TABLE IF NOT EXISTS` / `CREATE UNIQUE INDEX IF NOT EXISTS
-- ledger_events_notification_id_idx`: both find the partitioned table and its index here and do
-- nothing. Columns, types, the notification_id sequence and the NOTIFY channel stay as they were.
--
-- Upgrade without a rewrite: a log stored before this migration is not copied. Its table is
-- renamed `ledger_events_history`, proved to hold only positions below the head + 1 by a CHECK
-- constraint (one read of the table, no write), and attached as the first partition, FROM
-- (MINVALUE) TO (head + 1); ATTACH PARTITION trusts that constraint and scans nothing more.
-- A fresh database (an empty table) gets no such partition: the empty table is dropped.

-- How long a range partition is, in positions; the partitions already made keep their size.
-- Set by an operator with UPDATE; a database's `ledger.event_partition_size` setting, when
-- present at this migration, is the first value (the tests make partitions of a few events).
CREATE TABLE ledger_event_partitioning (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    size      bigint  NOT NULL CHECK (size >= 1)
);
INSERT INTO ledger_event_partitioning (size)
VALUES (coalesce(nullif(current_setting('ledger.event_partition_size', true), '')::bigint,
                 1000000));

DO $$
DECLARE
    head bigint;
BEGIN
    IF (SELECT relkind FROM pg_class WHERE oid = 'ledger_events'::regclass) = 'p' THEN
        RETURN;  -- made partitioned by hand before this migration: nothing to convert
    END IF;
    LOCK TABLE ledger_events IN ACCESS EXCLUSIVE MODE;
    head := (SELECT coalesce(max(notification_id), 0) FROM ledger_events);
    ALTER TABLE ledger_events RENAME TO ledger_events_history;
    ALTER INDEX ledger_events_notification_id_idx RENAME TO ledger_events_history_position;
    ALTER TABLE ledger_events_history RENAME CONSTRAINT ledger_events_pkey
        TO ledger_events_history_pkey;
    -- The row triggers come back as clones of the parent's (below); a partition holding its
    -- own of the same name could not be attached.
    DROP TRIGGER ledger_events_append_only ON ledger_events_history;
    DROP TRIGGER ledger_events_no_truncate ON ledger_events_history;

    CREATE TABLE ledger_events (
        originator_id      uuid   NOT NULL,
        originator_version bigint NOT NULL,
        topic              text,
        state              bytea,
        notification_id    bigint NOT NULL
            DEFAULT nextval('ledger_events_notification_id_seq'::regclass)
    ) PARTITION BY RANGE (notification_id);
    ALTER SEQUENCE ledger_events_notification_id_seq OWNED BY ledger_events.notification_id;
    ALTER TABLE ledger_events_history ALTER COLUMN notification_id DROP DEFAULT;
    -- The position is unique across the whole log: the partition key is the unique key.
    CREATE UNIQUE INDEX ledger_events_notification_id_idx ON ledger_events (notification_id);

    IF head = 0 THEN
        DROP TABLE ledger_events_history;  -- nothing was stored: nothing to keep
    ELSE
        EXECUTE format('ALTER TABLE ledger_events_history ADD CONSTRAINT '
                       'ledger_events_history_range CHECK (notification_id < %s)', head + 1);
        EXECUTE format('ALTER TABLE ledger_events ATTACH PARTITION ledger_events_history '
                       'FOR VALUES FROM (MINVALUE) TO (%s)', head + 1);
        ALTER TABLE ledger_events_history DROP CONSTRAINT ledger_events_history_range;
        CREATE TRIGGER ledger_events_no_truncate BEFORE TRUNCATE ON ledger_events_history
            FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
    END IF;
END;
$$;

-- INV-16 on the partitioned table: row triggers are cloned onto every partition, present and
-- future, so an UPDATE or DELETE aimed at a partition directly is refused too. TRUNCATE is a
-- statement trigger, which PostgreSQL does not clone: `ledger_add_event_partition` gives each
-- new partition its own.
DROP TRIGGER IF EXISTS ledger_events_append_only ON ledger_events;
CREATE TRIGGER ledger_events_append_only
    BEFORE UPDATE OR DELETE ON ledger_events
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
DROP TRIGGER IF EXISTS ledger_events_no_truncate ON ledger_events;
CREATE TRIGGER ledger_events_no_truncate
    BEFORE TRUNCATE ON ledger_events
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

-- One range partition [low, high), ready before it is attached: its primary key (the library's
-- (originator_id, originator_version), unique within the partition; across partitions the
-- writer guarantees it, ledger/storage/partitions.py), a CHECK that lets ATTACH skip its scan,
-- its TRUNCATE trigger. Created apart and then attached: ATTACH PARTITION takes only a SHARE
-- UPDATE EXCLUSIVE lock on the parent, which readers (verify's and export's long cursors
-- included) never wait for, where CREATE TABLE ... PARTITION OF would take ACCESS EXCLUSIVE.
CREATE FUNCTION ledger_add_event_partition(low bigint, high bigint) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    name text := format('ledger_events_from_%s', low);
BEGIN
    EXECUTE format('CREATE TABLE %I (LIKE ledger_events INCLUDING DEFAULTS, '
                   'CONSTRAINT %I PRIMARY KEY (originator_id, originator_version), '
                   'CONSTRAINT %I CHECK (notification_id >= %s AND notification_id < %s)) '
                   'WITH (autovacuum_vacuum_threshold = 100000000, '
                   'autovacuum_vacuum_scale_factor = 0.5, autovacuum_analyze_threshold = 1000, '
                   'autovacuum_analyze_scale_factor = 0.01)',
                   name, name || '_pkey', name || '_range', low, high);
    EXECUTE format('CREATE TRIGGER ledger_events_no_truncate BEFORE TRUNCATE ON %I '
                   'FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()', name);
    EXECUTE format('ALTER TABLE ledger_events ATTACH PARTITION %I FOR VALUES FROM (%s) TO (%s)',
                   name, low, high);
    EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', name, name || '_range');
    RETURN name;
END;
$$;

-- Every partition of the log, in position order, with its range and where it is stored: what
-- an operator reads before moving old ones to another tablespace, and what the benchmark lists.
CREATE VIEW ledger_event_partitions AS
SELECT c.relname::text AS name,
       (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \(''?(-?\d+)'))[1]::bigint
           AS from_position,  -- NULL: MINVALUE (the history from before partitioning)
       (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''?(-?\d+)'))[1]::bigint
           AS to_position,    -- exclusive
       coalesce(t.spcname, 'pg_default')::text AS tablespace,
       pg_total_relation_size(c.oid) AS bytes
FROM pg_inherits i
JOIN pg_class c ON c.oid = i.inhrelid
LEFT JOIN pg_tablespace t ON t.oid = c.reltablespace
WHERE i.inhparent = 'ledger_events'::regclass
ORDER BY 3;

-- Range partitions up to past `needed` and one whole spare partition beyond it (never an insert
-- that finds no partition; ledger/storage/partitions.py says who calls this and when). Returns
-- the first position no partition holds yet. Needs the event table's EXCLUSIVE lock, which the
-- writer holds when it calls; taken here otherwise (the same lock: serialized with writers).
CREATE FUNCTION ledger_extend_event_partitions(needed bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    size bigint := (SELECT p.size FROM ledger_event_partitioning p);
    covered bigint;
BEGIN
    LOCK TABLE ledger_events IN EXCLUSIVE MODE;
    needed := greatest(needed, (SELECT last_value FROM ledger_events_notification_id_seq));
    covered := coalesce((SELECT max(to_position) FROM ledger_event_partitions), 1);
    WHILE covered <= needed + size LOOP
        PERFORM ledger_add_event_partition(covered, covered + size);
        covered := covered + size;
    END LOOP;
    RETURN covered;
END;
$$;

SELECT ledger_extend_event_partitions(0);
