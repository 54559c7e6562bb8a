"""The response envelope and the error handlers that put every failure into it."""
import logging

from flask import current_app, jsonify
from flask.json.provider import DefaultJSONProvider
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from inference_gateway import errors, fast_json
from inference_gateway.errors import bad_request_from
from inference_gateway.store.db import DATABASE_DOWN

log = logging.getLogger(__name__)

HTTP_CODES = {
    400: errors.BAD_REQUEST,
    401: errors.UNAUTHORIZED,
    403: errors.FORBIDDEN,
    404: errors.NOT_FOUND,
    405: errors.METHOD_NOT_ALLOWED,
    408: errors.REQUEST_TIMEOUT,
    409: errors.CONFLICT,
    413: errors.PAYLOAD_TOO_LARGE,
    429: errors.RATE_LIMITED,
}

HTTP_MESSAGES = {
    400: "the request could not be understood",
    404: "no such resource",
    405: "method not allowed on this resource",
    413: "request body is too large",
}


# The app's JSON settings (compact, keys in order, Flask's types) in one encoder per process:
# jsonify resolves the provider and builds its arguments on every call.
encode_json = fast_json.encoder(default=DefaultJSONProvider.default)


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON (request bodies, jsonify): compact, keys in order, bodies read by fast_json."""

    sort_keys = False
    compact = True

    def loads(self, s, **kwargs):
        return fast_json.loads(s) if not kwargs else super().loads(s, **kwargs)


def ok(data, status=200):
    body = encode_json({"success": True, "data": data})
    return current_app.response_class(body + "\n", status=status, mimetype="application/json")


def error_response(exc: errors.GatewayError):
    response = jsonify(exc.to_dict())
    response.status_code = exc.status
    for name, value in exc.headers.items():
        response.headers[name] = value
    return response


def as_gateway_error(exc):
    """Any exception a view raised as the GatewayError a client is told (logged as it deserves).
    Every surface renders this one mapping in its own format."""
    if isinstance(exc, errors.GatewayError):
        if exc.status >= 500:
            cause = exc.__cause__
            log.warning("%s: %s%s", exc.code, exc.message,
                        f" ({type(cause).__name__}: {cause})" if cause is not None else "")
        return exc
    if isinstance(exc, ValidationError):
        return bad_request_from(exc)
    if isinstance(exc, HTTPException):
        code = HTTP_CODES.get(exc.code, errors.BAD_REQUEST if exc.code < 500 else errors.INTERNAL_ERROR)
        if exc.code == 413:
            return errors.body_too_large(current_app.config.get("MAX_CONTENT_LENGTH"))
        message = HTTP_MESSAGES.get(exc.code) or (exc.description or exc.name)
        err = errors.GatewayError(message, status=exc.code, code=code)
        if exc.code == 405 and getattr(exc, "valid_methods", None):
            err.headers["Allow"] = ", ".join(exc.valid_methods)
        return err
    if isinstance(exc, DATABASE_DOWN):
        # A database outage is not a bug in the request: say so, and that retrying may work.
        log.error("database unavailable: %s: %s", type(exc).__name__, exc)
        return errors.database_unavailable(exc)
    log.exception("unhandled error")
    return errors.GatewayError("internal error; see the gateway's log")


def register(app):
    # One handler for every exception: Flask hands it HTTPExceptions too (routing redirects aside).
    app.register_error_handler(Exception, lambda exc: error_response(as_gateway_error(exc)))
