"""/graphql on the FastAPI app: the caller's key decides what it may read."""

from __future__ import annotations

import json

import orjson
from fastapi import Request, Response
from strawberry.fastapi import GraphQLRouter

from api.auth import AuthError, KeyRing
from api.gql.context import Context
from api.gql.schema import build_schema
from api.read_replicas import SERVED_BY, ReadRouter, min_position
from projections.programmes import programmes
from projections.queries import ReadModels

READ_ROLES = frozenset({"platform", "auditor", "regulator", "admin"})


def graphql_router(*, production: bool) -> _Router:
    """The router; reads config/programmes.toml first, so a mistake there stops the service
    at start with its file and key named, not the first evaluator's query."""
    programmes()
    async def context(request: Request, response: Response) -> Context:
        reads: ReadModels = request.app.state.reads  # opened by the app's lifespan
        if request.method == "GET":  # the GraphiQL page itself; queries must be POSTed
            return Context(reads, role=None)
        keyring: KeyRing = request.app.state.keyring
        key = keyring.identify(request.headers.get("authorization"))
        if key.role not in READ_ROLES:
            raise AuthError(403, f"role {key.role} may not read the ledger")
        # issue 21: a replica or the primary (api/read_replicas.py), once the key is known
        router: ReadRouter = request.app.state.read_router
        served = await router.choose(min_position(request.headers))
        response.headers[SERVED_BY] = served.server
        return Context(served.reads, role=key.role, served=served, router=router)

    return _Router(build_schema(production=production), context_getter=context,
                   graphql_ide=None if production else "graphiql", allow_queries_via_get=False)


class _Router(GraphQLRouter[Context, None]):
    """Answers encoded by orjson: a popular patent's answer is some 60 KB of JSON, which the
    standard library's encoder took about a millisecond to write."""

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        """The body as the OpenAPI document states it (api/app.py `_document_graphql`), or
        a 400 problem naming what is wrong: strawberry failed on a JSON body that is not an
        object (`"AAA"`, `1`) with a 500, and ran a request whose operationName was 5.
        Decoded by `json`, which keeps a lone surrogate escape (orjson refuses the whole
        body), so the argument that holds one is named in a BAD_USER_INPUT error."""
        try:
            decoded = json.loads(data)
        except ValueError:  # not JSON, or bytes `json` took for UTF-16 or UTF-32
            raise BadGraphQLRequest("the body is not UTF-8 JSON") from None
        except RecursionError:
            raise BadGraphQLRequest("the body is nested too deeply to read") from None
        if not isinstance(decoded, dict):
            raise BadGraphQLRequest("a GraphQL request is a JSON object with a query (one "
                                    "request per body)")
        for member, wanted, kinds in _MEMBERS:
            if member in decoded and not isinstance(decoded[member], kinds):
                raise BadGraphQLRequest(f"`{member}` must be {wanted}")
        if not decoded.get("query"):
            raise BadGraphQLRequest("`query` must be a non-empty string")
        return decoded


# What a request body's members must be (GraphQL over HTTP, "Request Parameters").
_MEMBERS = (("query", "a non-empty string", str),
            ("variables", "an object or null", dict | None),
            ("operationName", "a string or null", str | None),
            ("extensions", "an object or null", dict | None))


class BadGraphQLRequest(Exception):
    """A POST /graphql body that is not a GraphQL request: 400 problem+json (api/app.py)."""
