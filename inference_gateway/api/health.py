"""Operational endpoints outside /api: liveness, readiness, metrics."""
from flask import Blueprint

bp = Blueprint("health", __name__)
