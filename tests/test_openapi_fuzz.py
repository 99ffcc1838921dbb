"""Schemathesis over the OpenAPI schema: whatever a client sends, the API never answers 5xx."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.builders import ACME, BETA, PATENT, party, patent
from tests.ledger_fixtures import auth


@pytest.fixture
def api_schema(app: Any, client: Any) -> Any:
    party(client, ACME)
    party(client, BETA)
    patent(client, PATENT, {ACME: "1"})
    return schemathesis.openapi.from_asgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")
# Every operation is a subtest of this one test: about 3 minutes alone on a slow machine, more
# beside schemathesis's run, which starts at the same time (tests/conftest.py): not the
# suite's 300 s a test.
pytestmark = pytest.mark.timeout(900)


@schema.parametrize()
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])  # batch bodies: many drawn, few kept
def test_no_server_errors(case: Any) -> None:
    role = "regulator" if any(p in case.path for p in ("subsid", "listing", "anomal")) else "admin"
    response = case.call(headers=auth(role))
    assert response.status_code < 500, f"{case.method} {case.path}: {response.text[:500]}"
