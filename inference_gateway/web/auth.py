"""Bearer-key authentication for /api routes when GATEWAY_API_KEYS is set."""
import hmac
import logging

from flask import request

from inference_gateway import errors

log = logging.getLogger(__name__)


def key_matches(presented, keys):
    """Constant-time comparison against every configured key (no early exit on a match)."""
    presented = presented.encode()
    found = False
    for key in keys:
        found |= hmac.compare_digest(presented, key.encode())
    return found


def check_request(keys):
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise errors.Unauthorized("missing API key: send 'Authorization: Bearer <key>'")
    if not key_matches(token.strip(), keys):
        raise errors.Unauthorized("invalid API key")


def init_app(app):
    keys = app.config["API_KEYS"]
    if not keys:
        log.warning("GATEWAY_API_KEYS is not set: the API is open to anyone who can reach it")
        return

    @app.before_request
    def _require_key():
        if request.path.startswith("/api/"):
            check_request(keys)
