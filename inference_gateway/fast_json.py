"""JSON on the hot path: orjson where its answer is the standard library's, the standard library where
it would not be.

A stream decodes each provider event and encodes each event it sends on; a chat call decodes the
body and the provider's reply and encodes the envelope. orjson takes a half to a seventh of the
time (an OpenAI chunk decoded 2.4 -> 1.2 us, the digit scan below included; a stream event encoded
2.0 -> 0.27 us; the chat envelope 3.4 -> 0.46 us: bench/README.md). What orjson refuses and the
standard library takes, or reads otherwise (integers past 64 bits, NaN and Infinity, lone
surrogates, nesting past 1,024 levels), goes to the standard library, so the result, or the error,
is the one it gives.

Differences kept on purpose: the output is UTF-8 rather than ASCII with \\u escapes (the same JSON
text to any parser), and NaN or Infinity in a value encodes as null (the standard library writes
the bare word, which is not JSON)."""
import json

import orjson

# Datetimes and dataclasses go to `default` (Flask's: HTTP dates, asdict), as they did with the
# standard library's encoder; keys that are not strings are written as it writes them.
_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


# orjson reads an integer past 64 bits as a float, silently: text holding a run of 19 digits or
# more (one may be such an integer; most are ids inside strings) is left to the standard library.
# Found by mapping every digit to "0" and anything else to " " (0.3 us for a stream event; a
# regular expression took 2.8, more than the parse it guards).
_DIGITS_ONLY = bytes(b"0"[0] if chr(i).isdigit() and i < 128 else b" "[0] for i in range(256))
_LONG_RUN = b"0" * 19


def loads(data):
    """`json.loads(data)` for str or bytes."""
    try:
        raw = data.encode() if type(data) is str else bytes(data)
        if raw.translate(_DIGITS_ONLY).find(_LONG_RUN) < 0:
            return orjson.loads(raw)
    except (orjson.JSONDecodeError, UnicodeEncodeError):  # the latter: a lone surrogate in a str
        pass
    return json.loads(data)


def encoder(default=None):
    """A function of a value to compact JSON text (str), keys in order, `default` for the types
    neither library knows."""
    fallback = json.JSONEncoder(separators=(",", ":"), default=default).encode

    def dumps(value):
        try:
            return orjson.dumps(value, default=default, option=_OPTIONS).decode()
        except TypeError:  # orjson.JSONEncodeError is a TypeError
            return fallback(value)

    return dumps
