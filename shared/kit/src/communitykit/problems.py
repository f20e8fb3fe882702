"""RFC 9457 problem+json errors, mapped in one place for every service."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pymongo.errors import ConnectionFailure
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

PROBLEM_JSON = "application/problem+json"
#: the methods an ``Allow`` header can name
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
#: what a 503 tells a client to wait when the store is unreachable (a restart, a failover)
STORE_RETRY_AFTER_SECONDS = 5

log = logging.getLogger(__name__)


class ProblemError(Exception):
    """A typed error a user can cause. Subclasses set ``status`` and ``title``."""

    status: int = 400
    title: str = "Bad request"

    def __init__(self, detail: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extra = extra


class NotFoundError(ProblemError):
    status, title = 404, "Not found"


class ForbiddenError(ProblemError):
    status, title = 403, "Forbidden"


class UnauthorizedError(ProblemError):
    status, title = 401, "Unauthorized"


class ConflictError(ProblemError):
    status, title = 409, "Conflict"


class InvalidInputError(ProblemError):
    status, title = 422, "Invalid input"


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def allowed_methods(request: Request) -> str:
    """The methods some route of the app serves on the request's path (``Allow`` of a
    405): the union over every route of the path, not only the first one matched."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        if route.matches(request.scope)[0] is Match.NONE:
            continue
        # the route (or an included router) serves this path: ask it for each method
        for method in HTTP_METHODS:
            if route.matches({**request.scope, "method": method})[0] is Match.FULL:
                methods.add(method)
    return ", ".join(sorted(methods))


def _field_of(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _malformed_json(error: dict[str, Any]) -> JSONResponse:
    """FastAPI reports a body that is not JSON as ``loc = ("body", <character offset>)``;
    read naively that is a field named "13". Say what it is: the body is not valid JSON,
    where, and why (the parser's reason)."""
    loc = error.get("loc", ())
    position = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else None
    reason = str((error.get("ctx") or {}).get("error") or "not valid JSON")
    where = f" at character {position}" if position is not None else ""
    detail = f"the request body is not valid JSON{where}: {reason}"
    entry: dict[str, Any] = {"field": "body", "message": detail}
    extra: dict[str, Any] = {"field": "body", "errors": [entry]}
    if position is not None:
        entry["position"] = extra["position"] = position
    return problem(422, "Malformed JSON", detail, **extra)


def install(app: FastAPI) -> None:
    """Register the problem+json handlers on ``app``."""

    @app.exception_handler(ProblemError)
    async def _problem(_: Request, exc: ProblemError) -> JSONResponse:
        extra = dict(exc.extra)
        if exc.field:
            extra["field"] = exc.field
        retry_after = getattr(exc, "retry_after", None)
        headers = {"Retry-After": str(retry_after)} if retry_after else None
        return problem(exc.status, exc.title, exc.detail, headers=headers, **extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        malformed = next((e for e in exc.errors() if e.get("type") == "json_invalid"), None)
        if malformed is not None:
            return _malformed_json(malformed)
        errors = [
            {"field": _field_of(e.get("loc", ())), "message": e.get("msg", "invalid")}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"field": "body", "message": "invalid"}
        return problem(
            422,
            "Invalid input",
            f"{first['field']}: {first['message']}",
            field=first["field"],
            errors=errors,
        )

    @app.exception_handler(ConnectionFailure)
    async def _store_down(_: Request, exc: ConnectionFailure) -> JSONResponse:
        # the store is unreachable (no server selected, a connection reset, a network
        # timeout): a dependency is down, not a bug of ours. The outcome of a write caught
        # mid-flight is unknown, so the client retries with its Idempotency-Key.
        log.warning("store unreachable: %s", exc)
        return problem(
            503,
            "Service unavailable",
            "the database is unreachable; retry shortly (with the same Idempotency-Key)",
            headers={"Retry-After": str(STORE_RETRY_AFTER_SECONDS)},
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {404: "Not found", 405: "Method not allowed", 401: "Unauthorized"}
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request) or headers.get("Allow", "")
        return problem(
            exc.status_code,
            titles.get(exc.status_code, "Error"),
            str(exc.detail),
            headers=headers or None,
        )
