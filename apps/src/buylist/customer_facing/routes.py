"""customer-facing routes: POST /buy, GET /getAllUserBuys/<userid>, probes and the OpenAPI document."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request

from buylist.common.logging import purchase_id_var
from buylist.common.schema import new_event, property_problem, request_problems
from buylist.common.web import ApiError, NotReady, ValidationFailed, json_body, reject_unknown_query
from buylist.customer_facing.idempotency import KEY_HEADER, IdempotencyStore, check_key
from buylist.customer_facing.management import NEXT_CURSOR_HEADER, ManagementClient
from buylist.customer_facing.openapi import openapi_document
from buylist.customer_facing.publisher import PublishFailed, PurchasePublisher

bp = Blueprint("customer_facing", __name__)


def _publisher() -> PurchasePublisher:
    publisher: PurchasePublisher = current_app.extensions["buylist.publisher"]
    return publisher


def _idempotency() -> IdempotencyStore:
    store: IdempotencyStore = current_app.extensions["buylist.idempotency"]
    return store


def _management() -> ManagementClient:
    client: ManagementClient = current_app.extensions["buylist.management"]
    return client


@bp.post("/buy")
def buy() -> tuple[Response, int]:
    """Validate a purchase, publish it and answer 201 once Kafka acknowledged it."""
    reject_unknown_query()
    body = json_body()
    problems = request_problems(body)
    if problems:
        raise ValidationFailed("; ".join(f"{p['field']}: {p['message']}" for p in problems), details=problems)
    key = request.headers.get(KEY_HEADER)
    if key is None:
        event = new_event(body)
    else:
        check_key(key)
        reservation = _idempotency().reserve(body["userid"], key, body, lambda: new_event(body))
        event = reservation.event
        if reservation.replay:
            purchase_id_var.set(event["id"])
            response = jsonify({"message": "Purchase recorded", "purchase": event})
            response.headers["Idempotent-Replayed"] = "true"
            return response, 201
    purchase_id_var.set(event["id"])
    try:
        _publisher().publish(event, g.request_id)
    except PublishFailed as exc:
        if key is not None:
            _idempotency().finish(body["userid"], key, published=False)
        raise NotReady(
            "The purchase could not be recorded right now; retry with the same Idempotency-Key to be safe.",
            retry_after=exc.retry_after,
        ) from exc
    if key is not None:
        _idempotency().finish(body["userid"], key, published=True)
    return jsonify({"message": "Purchase recorded", "purchase": event}), 201


def check_userid(userid: str) -> None:
    """Refuse a user id the event schema would refuse, before it goes anywhere."""
    problem = property_problem("userid", userid)
    if problem:
        raise ApiError(f"userid {problem}.", code="invalid_userid")


@bp.get("/getAllUserBuys/<userid>")
def get_all_user_buys(userid: str) -> Response:
    """List a user's purchases, newest first, one page at a time."""
    check_userid(userid)
    reject_unknown_query("limit", "cursor")
    # limit and cursor are checked by customer-management-api; its 400s are passed on as they are.
    paging = dict(request.args.items())
    purchases, next_cursor = _management().purchases(userid, paging, g.request_id)
    response = jsonify(purchases)
    if next_cursor:
        response.headers[NEXT_CURSOR_HEADER] = next_cursor
    return response


@bp.get("/health")
def health() -> Response:
    """Answer while the process serves requests."""
    return jsonify({"status": "ok"})


@bp.get("/ready")
def ready() -> tuple[Response, int]:
    """Answer 200 only while Kafka acknowledges our topic."""
    if _publisher().ready():
        return jsonify({"status": "ready"}), 200
    return jsonify({"error": "unavailable", "message": "Kafka is unreachable"}), 503


@bp.get("/openapi.json")
def openapi() -> Response:
    """Serve the OpenAPI 3.1 description of this API."""
    document: dict[str, Any] = openapi_document()
    return jsonify(document)
