"""Prometheus metrics of the operator, served on a port of their own.

The metrics live in prometheus_client's default registry, next to its process
collector (``process_resident_memory_bytes`` and friends), so one scrape shows
both the reconcile loop and the operator's footprint.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram, start_http_server

RECONCILES = Counter(
    "wsgi_operator_reconciles_total",
    "Reconciles of a WsgiApp, by what triggered them and how they ended.",
    ["trigger", "outcome"],
)
UNCHANGED = Counter(
    "wsgi_operator_reconciles_unchanged_total",
    "Reconciles that applied nothing: every child was as the last full reconcile left it, as the watches show.",
    ["trigger"],
)
ERRORS = Counter(
    "wsgi_operator_reconcile_errors_total",
    "Reconciles that raised (API errors, timeouts); they are retried.",
    ["trigger"],
)
DURATION = Histogram(
    "wsgi_operator_reconcile_duration_seconds",
    "Wall time of one reconcile, including every API request it made.",
    ["trigger"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
DRIFT_CORRECTIONS = Counter(
    "wsgi_operator_drift_corrections_total",
    "Children rewritten or recreated although their WsgiApp's spec had not changed.",
    ["kind"],
)
PRUNED = Counter(
    "wsgi_operator_children_pruned_total",
    "Children deleted because their WsgiApp's spec no longer wants them.",
    ["kind"],
)
API_REQUESTS = Counter(
    "wsgi_operator_api_requests_total",
    "Requests the reconciler sent to the API server (kopf's own watches are not counted).",
    ["verb", "resource", "code"],
)


def serve(port: int, address: str) -> None:
    """Serve GET /metrics on ``address:port`` from a daemon thread for the life of the process."""
    start_http_server(port, addr=address)
