"""The response envelope and the error handlers that put every failure into it."""
import logging

import json

from flask import current_app, jsonify
from flask.json.provider import DefaultJSONProvider
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from inference_gateway import errors
from inference_gateway.store.db import DATABASE_DOWN

log = logging.getLogger(__name__)

HTTP_CODES = {
    400: errors.BAD_REQUEST,
    401: errors.UNAUTHORIZED,
    404: errors.NOT_FOUND,
    405: errors.METHOD_NOT_ALLOWED,
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
encode_json = json.JSONEncoder(separators=(",", ":"), default=DefaultJSONProvider.default).encode


def ok(data, status=200):
    body = encode_json({"success": True, "data": data})
    return current_app.response_class(body + "\n", status=status, mimetype="application/json")


def error_response(exc: errors.GatewayError):
    response = jsonify(exc.to_dict())
    response.status_code = exc.status
    for name, value in exc.headers.items():
        response.headers[name] = value
    return response


def validation_message(messages):
    """One readable sentence from marshmallow's nested messages: 'name: Missing data...'."""
    parts = []

    def walk(prefix, value):
        if isinstance(value, dict):
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), sub)
        elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            parts.append(f"{prefix}: {' '.join(value)}" if prefix else " ".join(value))
        elif isinstance(value, list):
            for item in value:
                walk(prefix, item)
        else:
            parts.append(f"{prefix}: {value}" if prefix else str(value))

    walk("", messages)
    return "; ".join(parts) or "invalid request"


def bad_request_from(exc: ValidationError):
    """A marshmallow ValidationError as our 400, with per-field details."""
    messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
    details = {k: v if isinstance(v, list) else [str(v)] for k, v in messages.items()}
    return errors.BadRequest(validation_message(messages), details=details)


def register(app):
    @app.errorhandler(errors.GatewayError)
    def _gateway_error(exc):
        if exc.status >= 500:
            cause = exc.__cause__
            log.warning("%s: %s%s", exc.code, exc.message,
                        f" ({type(cause).__name__}: {cause})" if cause is not None else "")
        return error_response(exc)

    @app.errorhandler(ValidationError)
    def _validation_error(exc):
        return error_response(bad_request_from(exc))

    @app.errorhandler(HTTPException)
    def _http_error(exc):
        code = HTTP_CODES.get(exc.code, errors.BAD_REQUEST if exc.code < 500 else errors.INTERNAL_ERROR)
        if exc.code == 413:
            err = errors.body_too_large(app.config.get("MAX_CONTENT_LENGTH"))
        else:
            message = HTTP_MESSAGES.get(exc.code) or (exc.description or exc.name)
            err = errors.GatewayError(message, status=exc.code, code=code)
        response = error_response(err)
        if exc.code == 405 and getattr(exc, "valid_methods", None):
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    def _database_unavailable(exc):
        # A database outage is not a bug in the request: say so, and that retrying may work.
        log.error("database unavailable: %s: %s", type(exc).__name__, exc)
        return error_response(errors.database_unavailable(exc))

    for exc_type in DATABASE_DOWN:
        app.register_error_handler(exc_type, _database_unavailable)

    @app.errorhandler(Exception)
    def _unexpected(exc):
        log.exception("unhandled error")
        return error_response(errors.GatewayError("internal error; see the gateway's log"))
