"""Keys issued, rotated and revoked while the service runs, with no restart."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from api.key_store import KeyStore
from tests.builders import uscc
from tests.ledger_fixtures import KEYS, auth


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def new_party(n: int) -> dict[str, str]:
    return {"id": uscc(200 + n), "name": f"Firm {n}", "kind": "enterprise"}


def test_an_issued_key_works_and_a_revoked_one_stops_at_once(client: TestClient) -> None:
    issued = client.post("/v1/admin/keys", headers=auth("admin"), json={"role": "platform"})
    assert issued.status_code == 201, issued.text
    key, key_id = issued.json()["key"], issued.json()["key_id"]
    posted = client.post("/v1/parties", headers=bearer(key), json=new_party(1))
    assert posted.status_code == 201
    events = client.get("/v1/events?after=0&limit=10", headers=auth("auditor")).json()
    assert events["events"][-1]["posted_by"] == f"platform:{key_id}"  # who posted it
    # Rotation: a second key for the same platform, then the first one revoked.
    second = client.post("/v1/admin/keys", headers=auth("admin"), json={"role": "platform"})
    revoked = client.delete(f"/v1/admin/keys/{key_id}", headers=auth("admin"))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    refused = client.post("/v1/parties", headers=bearer(key), json=new_party(2))
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    assert client.post("/v1/parties", headers=bearer(second.json()["key"]),
                       json=new_party(3)).status_code == 201
    listed = client.get("/v1/admin/keys", headers=auth("admin")).json()
    assert {r["key_id"]: bool(r["revoked_at"]) for r in listed}[key_id] is True


def test_a_configured_key_can_be_revoked_too(client: TestClient) -> None:
    import hashlib

    auditor_id = hashlib.sha256(KEYS["auditor"].encode()).hexdigest()[:12]
    assert client.get("/v1/events", headers=auth("auditor")).status_code == 200
    assert client.delete(f"/v1/admin/keys/{auditor_id}",
                         headers=auth("admin")).status_code == 200
    assert client.get("/v1/events", headers=auth("auditor")).status_code == 401


def test_another_process_sees_a_revocation_within_the_refresh(client: TestClient) -> None:
    """Revoked straight in the table (as another API process would): this one refuses the
    key after its next refresh, a couple of seconds at most."""
    issued = client.post("/v1/admin/keys", headers=auth("admin"), json={"role": "regulator"})
    key, key_id = issued.json()["key"], issued.json()["key_id"]
    assert client.get("/v1/events", headers=bearer(key)).status_code == 200
    KeyStore(client.app.state.service.database_url).revoke(key_id)  # type: ignore[attr-defined]
    deadline = time.monotonic() + 10
    while client.get("/v1/events", headers=bearer(key)).status_code == 200:
        assert time.monotonic() < deadline, "the revocation never reached this process"
        time.sleep(0.2)


def test_only_admins_manage_keys_and_bad_requests_are_refused(client: TestClient) -> None:
    for role in ("platform", "auditor", "regulator"):
        assert client.post("/v1/admin/keys", headers=auth(role),
                           json={"role": "admin"}).status_code == 403
    assert client.post("/v1/admin/keys", headers=auth("admin"),
                       json={"role": "wizard"}).status_code == 422
    assert client.delete("/v1/admin/keys/not-an-id", headers=auth("admin")).status_code == 422
    import hashlib

    own = hashlib.sha256(KEYS["admin"].encode()).hexdigest()[:12]
    assert client.delete(f"/v1/admin/keys/{own}", headers=auth("admin")).status_code == 409
