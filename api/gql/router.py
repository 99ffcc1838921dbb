"""/graphql on the FastAPI app: the caller's key decides what it may read."""

from __future__ import annotations

import json

import orjson
from cross_web import HTTPException
from fastapi import Request
from strawberry.fastapi import GraphQLRouter

from api.auth import AuthError, KeyRing
from api.gql.context import Context
from api.gql.schema import build_schema
from projections.queries import ReadModels

READ_ROLES = frozenset({"platform", "auditor", "regulator", "admin"})


def graphql_router(*, production: bool) -> _Router:
    async def context(request: Request) -> Context:
        reads: ReadModels = request.app.state.reads  # opened by the app's lifespan
        if request.method == "GET":  # the GraphiQL page itself; queries must be POSTed
            return Context(reads, role=None)
        keyring: KeyRing = request.app.state.keyring
        key = keyring.identify(request.headers.get("authorization"))
        if key.role not in READ_ROLES:
            raise AuthError(403, f"role {key.role} may not read the ledger")
        return Context(reads, role=key.role)

    return _Router(build_schema(production=production), context_getter=context,
                   graphql_ide=None if production else "graphiql", allow_queries_via_get=False)


class _Router(GraphQLRouter[Context, None]):
    """Answers encoded by orjson: a popular patent's answer is some 60 KB of JSON, which the
    standard library's encoder took about a millisecond to write."""

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        """A body that is JSON but not an object or a list of them (`"AAA"`, `1`) is a 400:
        strawberry took it for a request and failed on it with a 500. Decoded by `json`, which
        keeps a lone surrogate escape (orjson refuses the whole body), so the argument that
        holds one is named in a BAD_USER_INPUT error (api/gql/arguments.py)."""
        try:
            decoded = json.loads(data)
        except json.JSONDecodeError:
            raise  # strawberry answers it: 400 "Unable to parse request body as JSON"
        except ValueError:  # bytes `json` took for UTF-16 or UTF-32 and could not decode
            raise HTTPException(400, "a GraphQL request is UTF-8 JSON") from None
        if not isinstance(decoded, dict | list) or (
                isinstance(decoded, list) and not all(isinstance(d, dict) for d in decoded)):
            raise HTTPException(400, "a GraphQL request is a JSON object with a query")
        return decoded
