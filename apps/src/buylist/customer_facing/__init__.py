"""customer-facing: accepts purchases into Kafka and lists a user's purchases."""

from __future__ import annotations

from flask import Flask

from buylist.common.logging import configure_logging
from buylist.common.metrics import init_http_metrics
from buylist.common.settings import Settings, load_settings
from buylist.common.web import init_http_edge
from buylist.customer_facing.idempotency import IdempotencyStore
from buylist.customer_facing.management import ManagementClient
from buylist.customer_facing.publisher import PurchasePublisher
from buylist.customer_facing.routes import bp


def create_app(settings: Settings | None = None) -> Flask:
    """Build the customer-facing Flask app."""
    settings = settings or load_settings("customer-facing")
    configure_logging(settings.component, settings.log_level, settings.log_format, settings.log_flush_interval_ms)
    app = Flask(__name__)
    app.config.update(MAX_CONTENT_LENGTH=settings.max_body_bytes, JSON_SORT_KEYS=False)
    app.extensions["buylist.settings"] = settings
    app.extensions["buylist.publisher"] = PurchasePublisher(settings)
    app.extensions["buylist.idempotency"] = IdempotencyStore(
        settings.mongodb_uri, settings.mongodb_database, settings.mongodb_timeout_ms, settings.component
    )
    app.extensions["buylist.management"] = ManagementClient(settings.management_url, settings.management_timeout_s)
    app.register_blueprint(bp)
    init_http_edge(app)
    init_http_metrics(app)
    return app
