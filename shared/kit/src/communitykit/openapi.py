"""The OpenAPI document states every response a route can give, so that clients generated
from it are right (issue 13 item 14).

FastAPI documents the success response and a 422 as ``application/json``
(``HTTPValidationError``), while every error here is RFC 9457 problem+json
(``communitykit.problems``) and the kit itself answers 401 (``communitykit.auth``), 429 and
503 (``communitykit.limits``). ``install`` post-processes the generated document once:

- every 4xx/5xx response is ``application/problem+json`` with the ``Problem`` schema;
- 401 on every route with a bearer token, 429 (with ``Retry-After``) on every write that
  needs one; a public read that a token personalises gets ``security: [{}, {bearer: []}]``;
- 404 on every route with a path parameter (no such resource, or an id the path cannot
  hold), 422 on every route with input, 400 on every route with a body (not JSON at all);
- 503 (with ``Retry-After``) on every route: load shedding, or a dependency down.

A route still declares its own domain errors (403, 409...) with ``PROBLEM`` or
``problem_responses``: only it knows them.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from .auth import BEARER_SCHEME, OPTIONAL_BEARER_SCHEME
from .limits import WRITE_METHODS

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
#: ``responses={403: {"description": "...", **PROBLEM}}`` in a route
PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {"schema": PROBLEM_REF}}}

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "field": {"type": "string", "description": "the input field at fault, if any"},
        "errors": {
            "type": "array",
            "description": "every invalid field (422)",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
    "additionalProperties": True,
}

RETRY_AFTER = {
    "description": "seconds to wait before retrying",
    "schema": {"type": "integer", "minimum": 1},
}


def problem_responses(**descriptions: str) -> dict[int | str, dict[str, Any]]:
    """``problem_responses(s403="staff only", s409="merged")`` → FastAPI ``responses``."""
    return {int(k.lstrip("s")): {"description": d, **PROBLEM} for k, d in descriptions.items()}


def _security(op: dict[str, Any]) -> tuple[bool, bool]:
    names = {name for req in op.get("security", []) for name in req}
    return BEARER_SCHEME in names, OPTIONAL_BEARER_SCHEME in names


def complete(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` (a FastAPI OpenAPI document) with every kit response declared."""
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    schemes = components.get("securitySchemes", {})
    if OPTIONAL_BEARER_SCHEME in schemes:
        schemes.setdefault(BEARER_SCHEME, schemes[OPTIONAL_BEARER_SCHEME])
        del schemes[OPTIONAL_BEARER_SCHEME]
    for path, item in schema.get("paths", {}).items():
        for method, op in item.items():
            if method.upper() not in {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"}:
                continue
            _complete_operation(path, method.upper(), op)
    for unused in ("HTTPValidationError", "ValidationError"):
        components["schemas"].pop(unused, None)
    return schema


def _complete_operation(path: str, method: str, op: dict[str, Any]) -> None:
    responses: dict[str, Any] = op.setdefault("responses", {})
    required, optional = _security(op)
    if optional and not required:
        op["security"] = [{}, {BEARER_SCHEME: []}]
    if required or optional:
        responses.setdefault("401", {"description": "missing or invalid bearer token"})
    if required and method in WRITE_METHODS:
        responses.setdefault(
            "429",
            {
                "description": "too many writes by this user: retry after Retry-After",
                "headers": {"Retry-After": {**RETRY_AFTER, "required": True}},
            },
        )
    if "{" in path:
        responses.setdefault("404", {"description": "no such resource"})
    if op.get("parameters") or op.get("requestBody"):
        responses.setdefault("422", {"description": "invalid input (the field is named)"})
    if "422" in responses and "HTTPValidationError" in str(responses["422"].get("content")):
        responses["422"]["description"] = "invalid input (the field is named)"
    if op.get("requestBody"):
        responses.setdefault("400", {"description": "the body cannot be read as JSON"})
    responses.setdefault(
        "503",
        {
            "description": "at capacity (load shed) or a dependency is down: retry later",
            "headers": {"Retry-After": RETRY_AFTER},
        },
    )
    for code, response in responses.items():
        if code[0] in "45":
            response["content"] = {"application/problem+json": {"schema": PROBLEM_REF}}


def install(app: FastAPI) -> None:
    """Serve the completed document on ``/openapi.json`` (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    openapi_version=app.openapi_version,
                    summary=app.summary,
                    description=app.description,
                    routes=app.routes,
                    tags=app.openapi_tags,
                    servers=app.servers,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
