"""The demo market: a lawful multi-year market flow, one planted case of every anomaly rule
with its near miss, and a loader that posts them through the ledger's own command path.

`patent-ledger demo` loads it; the read benchmark (bench/) and tests/test_scenario.py reuse it.
It imports only `ledger`: nothing here may import `bench`, `api` or `projections`.
"""
