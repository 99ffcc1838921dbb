"""Storage: the event store, the writer's state tables, event encoding, migrations and the
embedded PostgreSQL.
"""
