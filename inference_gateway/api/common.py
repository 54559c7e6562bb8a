"""Helpers the views share: reading the JSON body."""
from flask import request

from .. import errors


def json_body():
    """The request's JSON object, or a 400 that says what is wrong with the body."""
    if not request.is_json:
        raise errors.BadRequest("send a JSON object with 'Content-Type: application/json'")
    data = request.get_json(silent=True)
    if data is None:
        raise errors.BadRequest("request body is not valid JSON")
    if not isinstance(data, dict):
        raise errors.BadRequest("request body must be a JSON object")
    return data
