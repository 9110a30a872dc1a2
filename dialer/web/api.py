"""The API's route table: every endpoint declared once with its roles and pydantic models.

The same table mounts the aiohttp routes (with validation, authentication and CSRF checks done here, not
in each handler) and generates the OpenAPI document, so the document can not drift from the code.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from dialer.web import auth
from dialer.web.errors import ApiError, error_response, from_exception, validation_response
from dialer.web.models import Role
from dialer.web.users import Identity

if TYPE_CHECKING:
    from dialer.service import Service

log = logging.getLogger(__name__)

PREFIX = "/api/v1"
ADMIN: tuple[Role, ...] = (Role.ADMIN,)
AGENT: tuple[Role, ...] = (Role.AGENT,)
ANYONE: tuple[Role, ...] = (Role.ADMIN, Role.AGENT)
PUBLIC: tuple[Role, ...] = ()

JSON = "application/json"
ANONYMOUS_BODY = 16 * 1024  # a login is at most ~7 KB (1000-character password, escaped); no more is read
JSON_BODY = 1024 * 1024  # the largest JSON a logged-in caller may send
MAX_DEPTH = 32  # nesting of JSON objects and arrays; no model here needs more than a few levels
SSE = "text/event-stream"
CSV = "text/csv"


@dataclass
class ApiRequest:
    """One validated request, as a handler sees it."""

    request: web.Request
    service: Service
    identity: Identity | None
    path: Any
    query: Any
    body: Any

    @property
    def user(self) -> Identity:
        if self.identity is None:  # routes with roles never get here without one
            raise ApiError(401, "log in first")
        return self.identity

    @property
    def actor(self) -> str:
        """What the audit log records as 'who'."""
        return self.user.username


Result = BaseModel | web.StreamResponse
Handler = Callable[[ApiRequest], Awaitable[Result]]


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    roles: tuple[Role, ...]
    path_model: type[BaseModel] | None = None
    query_model: type[BaseModel] | None = None
    body_model: type[BaseModel] | None = None
    response_model: type[BaseModel] | None = None
    status: int = 200
    media: str = JSON
    upload: bool = False
    events: tuple[tuple[str, type[BaseModel] | None], ...] = ()  # server-sent events: name and data model

    @property
    def full_path(self) -> str:
        return PREFIX + self.path

    @property
    def operation_id(self) -> str:
        return self.handler.__name__


class RouteTable:
    def __init__(self) -> None:
        self.routes: list[Route] = []
        self._literal: frozenset[str] | None = None

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        tag: str,
        roles: tuple[Role, ...],
        path_model: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        body: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        status: int = 200,
        media: str = JSON,
        upload: bool = False,
        events: tuple[tuple[str, type[BaseModel] | None], ...] = (),
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.routes.append(
                Route(
                    method,
                    path,
                    handler,
                    summary,
                    tag,
                    roles,
                    path_model,
                    query,
                    body,
                    response,
                    status,
                    media,
                    upload,
                    events,
                )
            )
            return handler

        return register

    def literal_paths(self) -> frozenset[str]:
        """Full paths of routes without parameters (a path that is one of them is not a parameter value)."""
        if self._literal is None:
            self._literal = frozenset(r.full_path for r in self.routes if "{" not in r.path)
        return self._literal

    def mount(self, app: web.Application, service: Service) -> None:
        for r in self.routes:
            app.router.add_route(r.method, r.full_path, _view(r, service))


API = RouteTable()


def _find_nul(value: Any, where: str) -> str | None:
    """Where a NUL character hides in decoded JSON: PostgreSQL refuses it in text, so it is the caller's
    mistake to report, not a database error to crash on. Iterative, so no input can exhaust the stack."""
    todo: list[tuple[Any, str]] = [(value, where)]
    while todo:
        item, at = todo.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return at
        elif isinstance(item, dict):
            for k, v in item.items():
                if "\x00" in str(k):
                    return at
                todo.append((v, f"{at}.{k}" if at else str(k)))
        elif isinstance(item, list):
            todo.extend((v, f"{at}.{i}" if at else str(i)) for i, v in enumerate(item))
    return None


def _integral(value: Any) -> Any:
    """``60.0`` is the integer 60 to JSON Schema (and to the OpenAPI document); pydantic's strict mode wants
    it written ``60``. (Nesting is already bounded by MAX_DEPTH.)"""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral(v) for v in value]
    return value


def _too_deep(raw: bytes) -> bool:
    """True when JSON text nests objects/arrays deeper than MAX_DEPTH (checked before parsing, which
    would otherwise hit Python's recursion limit on ~1000 levels)."""
    depth = 0
    in_string = escaped = False
    for b in raw:
        if in_string:
            if escaped:
                escaped = False
            elif b == 0x5C:  # backslash
                escaped = True
            elif b == 0x22:
                in_string = False
        elif b == 0x22:
            in_string = True
        elif b in (0x5B, 0x7B):
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif b in (0x5D, 0x7D):
            depth -= 1
    return False


async def _read_body(request: web.Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it passes ``limit`` (never read whole into memory first)."""
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, f"the body is larger than {limit} bytes", "body")
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"the body is larger than {limit} bytes", "body")
        chunks.append(chunk)
    return b"".join(chunks)


def _validate(model: type[BaseModel] | None, data: Any, where: str, *, strict: bool = False) -> Any:
    """Path and query values are text and are converted; JSON bodies are validated strictly, so a
    ``false`` is not taken for the number 0 nor a ``0`` for false (what the OpenAPI document says)."""
    if model is None:
        return None
    bad = _find_nul(data, "")
    if bad is not None:
        raise ApiError(422, f"{bad or where}: NUL characters are not allowed", bad or where)
    if strict:
        return model.model_validate_json(json.dumps(_integral(data)), strict=True)
    return model.model_validate(data)


async def _body(request: web.Request, route: Route, anonymous: bool) -> Any:
    if route.body_model is None:
        return None
    if request.content_type != JSON:
        raise ApiError(415, f"send the body as {JSON}", "body")
    raw = await _read_body(request, ANONYMOUS_BODY if anonymous else JSON_BODY)
    if _too_deep(raw):
        raise ApiError(400, f"the body nests deeper than {MAX_DEPTH} levels", "body")
    try:
        data = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ApiError(400, "the body is not valid JSON", "body") from None
    if not isinstance(data, dict):
        raise ApiError(422, "the body must be a JSON object", "body")
    return _validate(route.body_model, data, "body", strict=True)


def _not_allowed(request: web.Request) -> web.Response:
    resp = error_response(405, f"{request.method} is not allowed here")
    resp.headers["Allow"] = allowed_methods(request.path)
    return resp


def _view(route: Route, service: Service) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    templated = "{" in route.path

    async def view(request: web.Request) -> web.StreamResponse:
        if templated and request.path in API.literal_paths():
            # e.g. DELETE /appointments/export reached /appointments/{id}: that path is a route of its own
            return _not_allowed(request)
        identity = await auth.identify(request, service)
        if route.roles:
            if identity is None:
                return error_response(401, "log in or send a valid bearer token (Authorization: Bearer ...)")
            if identity.role not in route.roles:
                return error_response(403, f"this needs the {' or '.join(route.roles)} role")
            if not auth.csrf_ok(request, identity):
                return error_response(403, f"missing or wrong CSRF token ({auth.CSRF_HEADER} header)", "csrf")
        if route.upload and request.content_type != "multipart/form-data":
            return error_response(
                415, "upload the file as multipart/form-data, in a part named 'file'", "file"
            )
        try:
            path = _validate(route.path_model, dict(request.match_info), "path")
            query_data: dict[str, Any] = {}
            for k in request.query:
                query_data[k] = request.query.getone(k)
            query = _validate(route.query_model, query_data, "query")
            body = await _body(request, route, identity is None)
        except ValidationError as e:
            return validation_response(e)
        except ApiError as e:
            return error_response(e.status, e.message, e.field)
        call = ApiRequest(request, service, identity, path, query, body)
        try:
            result = await route.handler(call)
        except Exception as e:
            known = from_exception(e)
            if known is None:
                raise
            return known
        if isinstance(result, BaseModel):
            return web.json_response(result.model_dump(mode="json"), status=route.status)
        return result

    view.__name__ = route.operation_id
    return view


def allowed_methods(path: str) -> str:
    """The methods of the route this path names: a path that is a route of its own (``/applications/import``)
    is not also ``/applications/{number}``, whatever the router found for another method."""
    exact = sorted({r.method for r in API.routes if r.full_path == path})
    if exact:
        return ", ".join(exact)
    parts = path.split("/")
    templated = set()
    for r in API.routes:
        tpl = r.full_path.split("/")
        if len(tpl) == len(parts) and all(
            t == p or (t.startswith("{") and t.endswith("}") and p) for t, p in zip(tpl, parts, strict=True)
        ):
            templated.add(r.method)
    return ", ".join(sorted(templated))


@web.middleware
async def json_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Under /api every error is JSON, including 404/405 from the router and unexpected crashes."""
    if not request.path.startswith(PREFIX):
        return await handler(request)
    try:
        return await handler(request)
    except web.HTTPException as e:
        if e.status < 400:
            raise
        resp = error_response(e.status, e.reason)
        if "Allow" in e.headers:  # a 405 names the methods that are allowed (RFC 9110)
            resp.headers["Allow"] = allowed_methods(request.path) or e.headers["Allow"]
        return resp
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal error; the details are in the service log")
