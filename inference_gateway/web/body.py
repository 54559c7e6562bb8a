"""Reading request bodies, for the native API and the compatible surfaces alike."""
from flask import current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from inference_gateway import errors
from inference_gateway.web import input_guard


def body_too_large():
    return errors.body_too_large(current_app.config["MAX_CONTENT_LENGTH"])


def json_body(cache=True):
    """The request's JSON object, or a 400 that says what is wrong with the body (413 when it is
    too large). `cache=False` keeps no copy of the raw body on the request (large uploads)."""
    if not request.is_json:
        raise errors.BadRequest("send a JSON object with 'Content-Type: application/json'")
    try:
        data = request.get_json(silent=True, cache=cache)
    except RequestEntityTooLarge:
        # Raised here, inside a view's logged call, so the call's row records the 413.
        raise body_too_large() from None
    except RecursionError:  # the parser's own limit, far past MAX_JSON_DEPTH
        raise input_guard.too_deep(current_app.config["MAX_JSON_DEPTH"]) from None
    if data is None:
        raise errors.BadRequest("request body is not valid JSON")
    if not isinstance(data, dict):
        raise errors.BadRequest("request body must be a JSON object")
    input_guard.check_json(data)
    return data
