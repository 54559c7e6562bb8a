"""Operational endpoints outside /api: liveness, readiness, metrics."""
import logging

from flask import Blueprint, Response, current_app

from inference_gateway import errors
from inference_gateway.web import auth
from inference_gateway.store import db
from inference_gateway.web import metrics
from inference_gateway.web.envelope import ok
from inference_gateway.web.openapi import describe
from inference_gateway.api.replies import HealthReply

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@auth.public
@describe("Liveness", reply=HealthReply, tags=["health"])
def healthz():
    """The process is alive and serving requests."""
    return ok({"status": "ok"})


@bp.get("/readyz")
@auth.public
@describe("Readiness: the database takes writes", reply=HealthReply, tags=["health"])
def readyz():
    """The database lets a write start within READY_WRITE_TIMEOUT (every call ends in a row):
    503 SERVICE_UNAVAILABLE when it does not (down, locked, read-only)."""
    try:
        db.ping_write(current_app.config["READY_WRITE_TIMEOUT"])
    except db.DATABASE_FAILED as exc:
        log.warning("readiness check failed: %s: %s", type(exc).__name__, exc)
        raise errors.database_unavailable(exc) from None
    return ok({"status": "ready", "database": "ok"})


def check_metrics_access(config):
    """METRICS_TOKEN when set, else the API and admin keys when set, else open."""
    token = config.get("METRICS_TOKEN")
    keys = [token] if token else (config.get("API_KEYS") or []) + (config.get("ADMIN_KEYS") or [])
    if keys:
        auth.check_request(keys)


@bp.get("/metrics")
@auth.public
@describe("Prometheus metrics", media="text/plain", tags=["health"], errors=[(401, errors.UNAUTHORIZED), (404, errors.NOT_FOUND)])
def metrics_view():
    """Prometheus text format, summed over every worker of this instance."""
    if not current_app.config.get("METRICS_ENABLED", True):
        raise errors.NotFound("metrics are disabled on this gateway (METRICS_ENABLED=false)")
    check_metrics_access(current_app.config)
    body, content_type = metrics.exposition()
    return Response(body, content_type=content_type)
