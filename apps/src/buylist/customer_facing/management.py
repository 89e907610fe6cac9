"""Client for customer-management-api: encoded paths, timeouts, errors mapped to the HTTP edge."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests

from buylist.common.metrics import UPSTREAM_FAILURES
from buylist.common.web import REQUEST_ID_HEADER, ApiError, NotReady

NEXT_CURSOR_HEADER = "X-Next-Cursor"


def encode_segment(value: str) -> str:
    """Percent-encode one path segment so that no character can change the path, dots included."""
    return quote(value, safe="").replace(".", "%2E")


class UpstreamRejected(ApiError):
    """customer-management-api refused the request (a 4xx), passed on to the client."""


class ManagementClient:
    """Read purchases from customer-management-api over a pooled HTTP session."""

    def __init__(self, base_url: str, timeout_s: float) -> None:
        self._base_url = base_url.rstrip("/")
        self._timeout_s = timeout_s
        self._session = requests.Session()
        # Retrying is the caller's decision; a hidden retry would double the worst-case latency.
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=32, max_retries=0)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    def purchases(
        self, userid: str, paging: dict[str, str], request_id: str
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Return one page of a user's purchases, newest first, and the cursor of the next page."""
        url = f"{self._base_url}/purchases/{encode_segment(userid)}"
        try:
            response = self._session.get(
                url,
                params=paging,
                timeout=self._timeout_s,
                headers={REQUEST_ID_HEADER: request_id, "Accept": "application/json"},
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            UPSTREAM_FAILURES.labels("customer-management-api").inc()
            raise NotReady("The purchase history service is unreachable; try again shortly.", retry_after=2) from exc
        body = _json_or_none(response)
        if 400 <= response.status_code < 500:
            info = body if isinstance(body, dict) else {}
            raise UpstreamRejected(
                str(info.get("message", "The request was refused.")),
                status=response.status_code,
                code=str(info.get("error", "bad_request")),
            )
        if response.status_code != 200 or not isinstance(body, list):
            UPSTREAM_FAILURES.labels("customer-management-api").inc()
            raise NotReady("The purchase history service is unavailable; try again shortly.", retry_after=2)
        return body, response.headers.get(NEXT_CURSOR_HEADER)


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
