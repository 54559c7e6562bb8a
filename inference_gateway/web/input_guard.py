"""Hostile input refused before any schema or database sees it: NUL characters, unpaired
surrogates, JSON nested too deeply and arrays too long, in bodies, WebSocket frames, paths and
query strings. Every refusal is a 400 naming the field."""
from flask import current_app, request

from inference_gateway import errors
from inference_gateway.text import BAD_CHAR, clean

BAD_CHAR_MESSAGE = "contains a NUL character or an unpaired UTF-16 surrogate; send valid Unicode text"
NAME_SHOWN = 64  # characters of a key shown in a field path


def printable(text):
    """`text` safe to echo in a message: bad characters escaped, long names cut."""
    shown = BAD_CHAR.sub(lambda m: f"\\u{ord(m.group()):04x}", text[:NAME_SHOWN])
    return shown + ("..." if len(text) > NAME_SHOWN else "")


class _Refused(Exception):
    """A problem found at some depth; the walk adds each enclosing key on the way out."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message
        self.path = []


class Limits:
    """The bounds a parsed JSON document must keep: depth of nesting and items per array."""

    def __init__(self, max_depth, max_items):
        self.max_depth, self.max_items = max_depth, max_items

    @classmethod
    def from_config(cls, config):
        return cls(config["MAX_JSON_DEPTH"], config["MAX_JSON_ITEMS"])

    def check(self, value):
        """Raise BadRequest naming the first field that breaks a rule; one pass, no copies."""
        try:
            self._walk(value, 1)
        except _Refused as found:
            field = ".".join(reversed(found.path)) or "body"
            raise errors.BadRequest(f"{field}: {found.message}", details={field: [found.message]}) from None
        except RecursionError:  # not reachable with a sane MAX_JSON_DEPTH; never a 500
            raise too_deep(self.max_depth) from None

    def _walk(self, value, depth):
        if depth > self.max_depth:
            raise _Refused(f"is nested deeper than {self.max_depth} levels")
        if type(value) is dict:
            items = value.items()
        else:
            if len(value) > self.max_items:
                raise _Refused(f"has {len(value)} items; at most {self.max_items} are accepted")
            items = enumerate(value)
        for key, item in items:
            try:
                if type(key) is str and not clean(key):
                    raise _Refused("this field's name " + BAD_CHAR_MESSAGE)
                kind = type(item)
                if kind is str:
                    if not clean(item):
                        raise _Refused(BAD_CHAR_MESSAGE)
                elif kind is dict or kind is list:
                    self._walk(item, depth + 1)
            except _Refused as found:
                found.path.append(printable(key) if type(key) is str else str(key))
                raise


def too_deep(max_depth):
    return errors.BadRequest(f"body: is nested deeper than {max_depth} levels",
                             details={"body": [f"is nested deeper than {max_depth} levels"]})


def check_json(value):
    """The request's parsed JSON checked against the app's limits (see Limits.check)."""
    current_app.extensions["input_limits"].check(value)


def check_fields(fields):
    """Form fields and query parameters: names and values free of NUL and unpaired surrogates."""
    for name, value in fields:
        if not clean(name):
            raise errors.BadRequest(f"{printable(name)}: this parameter's name {BAD_CHAR_MESSAGE}")
        if isinstance(value, str) and not clean(value):
            raise errors.BadRequest(f"{printable(name)}: {BAD_CHAR_MESSAGE}",
                                    details={printable(name): [BAD_CHAR_MESSAGE]})


def _check_request():
    # The path's parts reach the database (/providers/<x>, /requests/<x>) and the query's values
    # its filters (/usage?model=): PostgreSQL refuses NUL with an error that was a 500.
    if not clean(request.path):
        raise errors.BadRequest(f"path: {BAD_CHAR_MESSAGE}", details={"path": [BAD_CHAR_MESSAGE]})
    if request.query_string:
        check_fields(request.args.items(multi=True))


def init_app(app):
    app.extensions["input_limits"] = Limits.from_config(app.config)
    app.before_request(_check_request)
