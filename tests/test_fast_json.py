"""fast_json gives what the standard library gives, value for value, wherever orjson would not."""
import json
import math
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest
from flask.json.provider import DefaultJSONProvider

from inference_gateway import fast_json

encode = fast_json.encoder(default=DefaultJSONProvider.default)
stdlib = json.JSONEncoder(separators=(",", ":"), default=DefaultJSONProvider.default).encode


@dataclass
class Point:
    x: int
    at: datetime


@pytest.mark.parametrize("text", [
    '{"a": 1, "b": [true, false, null], "c": "caf\\u00e9 \\ud83e\\udd8a", "d": 1.5e300, "e": -0.0}',
    '{"big": 123456789012345678901234567890}',          # past 64 bits: orjson reads a float
    '[18446744073709551616, -9223372036854775809, 9223372036854775807, 1e400]',
    '{"nan": NaN, "inf": -Infinity}',                   # not JSON; the standard library takes it
    '{"lone": "a\\ud800b"}',                            # a lone surrogate escape
    '{"dup": 1, "dup": 2}',
])
def test_decoding_matches_the_standard_library(text):
    ours, theirs = fast_json.loads(text), json.loads(text)
    assert repr(ours) == repr(theirs)  # repr: NaN != NaN, and -0.0 == 0.0
    assert fast_json.loads(text.encode("utf-8", "surrogatepass")) is not None


def test_what_neither_decodes_raises_the_standard_librarys_error():
    for bad in ('{"a": ', "[" * 100 + "]" * 99, "\x00"):
        with pytest.raises(json.JSONDecodeError):
            fast_json.loads(bad)


def test_nesting_is_decoded_or_refused_as_the_standard_library_does():
    deep = "[" * 900 + "]" * 900
    assert fast_json.loads(deep) == json.loads(deep)
    with pytest.raises(RecursionError):  # web/body.py turns this into a 400 naming MAX_JSON_DEPTH
        fast_json.loads("[" * 100_000 + "]" * 100_000)


@pytest.mark.parametrize("value", [
    {"success": True, "data": {"text": "caf\u00e9 \U0001f98a", "n": [1, 2.5, None], "nested": {"k": "v"}}},
    {1: "int key", None: "none key"},
    {"at": datetime(2026, 12, 2, 1, 2, 3, tzinfo=timezone.utc), "point": Point(1, datetime(2026, 1, 1))},
    {"big": 10 ** 30},
    {"lone": "a\ud800b"},
    ("a", "tuple"),
])
def test_encoding_means_what_the_standard_library_writes(value):
    assert json.loads(encode(value)) == json.loads(stdlib(value))


def test_keys_keep_their_order_and_output_is_compact():
    assert encode({"b": 1, "a": [1, 2]}) == '{"b":1,"a":[1,2]}'


def test_nan_encodes_as_null_not_the_bare_word():
    assert json.loads(encode({"x": math.nan})) == {"x": None}


def test_a_type_neither_knows_raises_type_error():
    with pytest.raises(TypeError):
        encode({"x": object()})
