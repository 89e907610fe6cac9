"""The HTTP edge shared by the Flask services: errors as JSON, request ids, one log line per request."""

from __future__ import annotations

import logging
import re
import uuid
from time import perf_counter
from typing import Any

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from buylist.common.logging import purchase_id_var, request_id_var
from buylist.common.schema import InvalidJson, parse_json

log = logging.getLogger("buylist.http")

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_OK = re.compile(r"[A-Za-z0-9._:-]{1,64}")


class ApiError(Exception):
    """An error a client caused or can retry, with its HTTP status and machine-readable code."""

    status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        details: Any = None,
        retry_after: int | None = None,
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status or self.status
        self.code = code or self.code
        self.details = details
        self.retry_after = retry_after


class ValidationFailed(ApiError):
    """The body parsed but does not satisfy the schema."""

    status = 422
    code = "validation_failed"


class InvalidBody(ApiError):
    """The body is not one strict JSON document."""

    status = 400
    code = "invalid_json"


class UnsupportedMediaType(ApiError):
    """The body is not declared as JSON."""

    status = 415
    code = "unsupported_media_type"


class NotReady(ApiError):
    """A dependency is unavailable; the client should retry later."""

    status = 503
    code = "unavailable"


def error_response(status: int, code: str, message: str, **extra: Any) -> Response:
    """Build the `{"error", "message"}` body every failure uses."""
    body: dict[str, Any] = {"error": code, "message": message}
    body.update({k: v for k, v in extra.items() if v is not None})
    response = jsonify(body)
    response.status_code = status
    return response


def init_http_edge(app: Flask) -> None:
    """Give every request an id, log one line per request and turn every error into JSON."""
    # A decoded %2F yields "//"; merging it would redirect "/x/%2Fvictim" to "/x/victim".
    app.url_map.merge_slashes = False

    @app.before_request
    def _request_id() -> None:
        g.started = perf_counter()
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = incoming if _REQUEST_ID_OK.fullmatch(incoming) else uuid.uuid4().hex
        g.request_id_token = request_id_var.set(g.request_id)
        g.purchase_id_token = purchase_id_var.set(None)

    @app.after_request
    def _log(response: Response) -> Response:
        response.headers[REQUEST_ID_HEADER] = g.get("request_id", "")
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers["X-Content-Type-Options"] = "nosniff"
        if request.path not in ("/health", "/ready", "/metrics"):
            log.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "route": request.url_rule.rule if request.url_rule else None,
                    "status": response.status_code,
                    "duration_ms": round((perf_counter() - g.get("started", perf_counter())) * 1000, 2),
                },
            )
        return response

    @app.teardown_request
    def _reset(_exc: BaseException | None) -> None:
        for var, name in ((request_id_var, "request_id_token"), (purchase_id_var, "purchase_id_token")):
            token = g.pop(name, None)
            if token is not None:
                var.reset(token)

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        response = error_response(exc.status, exc.code, exc.message, details=exc.details)
        if exc.retry_after is not None:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        code = (exc.name or "error").lower().replace(" ", "_")
        response = error_response(status, code, exc.description or exc.name)
        if status == 405 and exc.get_response().headers.get("Allow"):
            response.headers["Allow"] = exc.get_response().headers["Allow"]
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error")
        return error_response(500, "internal_error", "Something went wrong on our side; it has been logged.")


def reject_unknown_query(*allowed: str) -> None:
    """Refuse query parameters the route does not define, or gives twice: an error, never silently ignored."""
    unknown = sorted(set(request.args) - set(allowed))
    if unknown:
        raise ApiError(
            f"Unknown query parameter(s): {', '.join(unknown)[:200]}. Allowed: {', '.join(allowed) or 'none'}.",
            code="unknown_query_parameter",
        )
    repeated = sorted(name for name in allowed if len(request.args.getlist(name)) > 1)
    if repeated:
        raise ApiError(f"Give each query parameter once: {', '.join(repeated)}.", code="repeated_query_parameter")


def json_body() -> Any:
    """Return the request body parsed as strict JSON, refusing other media types."""
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("Send the body as JSON with 'Content-Type: application/json'.")
    raw = request.get_data(cache=False)
    if not raw:
        raise InvalidBody("The request body is empty; send a JSON object.")
    try:
        return parse_json(raw)
    except InvalidJson as exc:
        raise InvalidBody(f"The body is not valid JSON: {exc}") from exc
