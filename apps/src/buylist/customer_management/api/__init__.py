"""customer-management-api: reads a user's purchases from MongoDB."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, current_app, jsonify, request

from buylist.common.logging import configure_logging
from buylist.common.metrics import init_http_metrics
from buylist.common.schema import property_problem
from buylist.common.settings import Settings, load_settings
from buylist.common.web import ApiError, NotReady, init_http_edge, reject_unknown_query
from buylist.customer_management.store import InvalidCursor, PurchaseStore, StoreUnavailable

bp = Blueprint("customer_management_api", __name__)

DEFAULT_LIMIT = 50
MAX_LIMIT = 100
NEXT_CURSOR_HEADER = "X-Next-Cursor"


def _store() -> PurchaseStore:
    store: PurchaseStore = current_app.extensions["buylist.store"]
    return store


@bp.get("/purchases/<userid>")
def purchases(userid: str) -> Response:
    """List a user's purchases newest first; X-Next-Cursor names the next page."""
    problem = property_problem("userid", userid)
    if problem:
        raise ApiError(f"userid {problem}.", code="invalid_userid")
    reject_unknown_query("limit", "cursor")
    raw_limit = request.args.get("limit", str(DEFAULT_LIMIT))
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
        raise ApiError(f"limit must be an integer from 1 to {MAX_LIMIT}.", code="invalid_limit")
    try:
        page, next_cursor = _store().page(userid, int(raw_limit), request.args.get("cursor"))
    except InvalidCursor as exc:
        raise ApiError("cursor is not one this service issued.", code="invalid_cursor") from exc
    except StoreUnavailable as exc:
        raise NotReady("MongoDB is unavailable; try again shortly.", retry_after=2) from exc
    response = jsonify(page)
    if next_cursor:
        response.headers[NEXT_CURSOR_HEADER] = next_cursor
    return response


@bp.get("/health")
def health() -> Response:
    """Answer while the process serves requests."""
    return jsonify({"status": "ok"})


@bp.get("/ready")
def ready() -> tuple[Response, int]:
    """Answer 200 only while MongoDB answers."""
    if _store().ping():
        return jsonify({"status": "ready"}), 200
    return jsonify({"error": "unavailable", "message": "MongoDB is unreachable"}), 503


def create_app(settings: Settings | None = None) -> Flask:
    """Build the customer-management-api Flask app."""
    settings = settings or load_settings("customer-management-api")
    configure_logging(settings.component, settings.log_level, settings.log_format, settings.log_flush_interval_ms)
    app = Flask(__name__)
    app.config.update(MAX_CONTENT_LENGTH=settings.max_body_bytes)
    app.extensions["buylist.settings"] = settings
    app.extensions["buylist.store"] = PurchaseStore(
        settings.mongodb_uri, settings.mongodb_database, settings.mongodb_timeout_ms, settings.component
    )
    app.register_blueprint(bp)
    init_http_edge(app)
    init_http_metrics(app)
    return app
