"""The chat body's fast validation path agrees with ChatSchema on every body it accepts."""
import itertools
import random

import pytest
from marshmallow import ValidationError

from inference_gateway.api.fast_chat import load_chat, plain_chat
from inference_gateway.api.schemas import chat_schema

MESSAGES = [{"role": "user", "content": "Hello"}]

# Values per field: valid ones, invalid ones and ones of the wrong type, so random bodies cover
# the edges of every rule (bool is an int in Python, 1e400 is inf, "0.5" a numeric string).
VALUES = {
    "model": ["gpt-4o", "", "x" * 300, "x" * 301, None, 5, ["gpt-4o"]],
    "providerId": ["openai", "", "p" * 64, "p" * 65, None, 3],
    "messages": [MESSAGES, [], None, "hi", [{"role": "user"}], [{"role": "robot", "content": "x"}],
                 [{"role": "user", "content": 5}], [{"role": "user", "content": "x", "name": "n"}],
                 [{"role": "system", "content": ""}, {"role": "assistant", "content": "ok"}],
                 ["not an object"], [None]],
    "maxTokens": [1, 100, 1_000_000, 0, 1_000_001, -5, None, True, False, 10.0, 10.5, "100"],
    "temperature": [0, 0.7, 2, 2.0001, -0.1, None, True, "0.5", float("inf"), float("nan"), 1e400],
    "topP": [0, 0.5, 1, 1.5, None, False, "1"],
    "stop": ["END", ["a", "b"], ["a"] * 4, ["a"] * 5, [], None, ["a", 1], 7, [None]],
    "system": ["Be brief.", "", None, 12, ["x"]],
    "reasoning": [{"effort": "high"}, None, {}, {"budgetTokens": 2048, "summary": "auto"}, {"effort": "extreme"},
                  "high", {"mode": "enabled"}],
    "unknown": ["x"],
}


# How often a random body has the field (others: 0.4); an unknown field always fails.
CHANCE = {"messages": 0.9, "unknown": 0.1}


def load_or_error(body):
    try:
        return chat_schema.load(body)
    except ValidationError as exc:
        return exc


def random_bodies(count, seed=7):
    """Bodies of random fields, each value the field's first (valid) one half of the time, so that
    many bodies pass and get compared, not only refused."""
    rng = random.Random(seed)
    for _ in range(count):
        keys = [k for k in VALUES if rng.random() < CHANCE.get(k, 0.4)]
        yield {k: VALUES[k][0] if rng.random() < 0.5 else rng.choice(VALUES[k]) for k in keys}


def test_every_body_the_fast_path_accepts_loads_the_same_through_the_schema():
    accepted = 0
    for body in itertools.chain(random_bodies(5000), [{"messages": MESSAGES, k: v}
                                                       for k, values in VALUES.items() for v in values]):
        fast = plain_chat(body)
        expected = load_or_error(body)
        if fast is None:
            continue
        accepted += 1
        assert not isinstance(expected, ValidationError), (body, expected.messages)
        assert fast == expected, body
        assert [type(fast[k]) for k in fast] == [type(expected[k]) for k in fast], body
    # Fails if the fast path gave up on everything (it would then just be slower).
    assert accepted > 500


@pytest.mark.parametrize("body", [
    {"model": "gpt-4o", "messages": MESSAGES},
    {"model": "openai/gpt-4o", "messages": MESSAGES, "maxTokens": 64, "temperature": 1, "topP": 0.5,
     "stop": "END", "system": "Be brief."},
    {"providerId": "openai", "messages": MESSAGES * 3, "stop": ["a", "b"], "maxTokens": None},
])
def test_ordinary_chat_bodies_take_the_fast_path(body):
    assert plain_chat(body) is not None
    assert load_chat(body) == chat_schema.load(body)


@pytest.mark.parametrize("body", [
    {"model": "gpt-4o"},
    {"model": "gpt-4o", "messages": MESSAGES, "temperature": "hot"},
    {"model": "gpt-4o", "messages": MESSAGES, "maxTokens": True},
    {"model": "gpt-4o", "messages": MESSAGES, "seed": 1},
    ["not", "an", "object"],
    {"model": "gpt-4o", "messages": MESSAGES, "reasoning": {"effort": "high"}},
    {"model": "gpt-4o", "messages": MESSAGES, "reasoning": {"effort": "extreme"}},
    {"model": "gpt-4o", "messages": [{"role": "assistant", "content": "x", "thoughts": [{"text": "t"}]}]},
])
def test_bodies_off_the_fast_path_get_the_schemas_own_errors(body):
    expected = load_or_error(body)
    try:
        got = load_chat(body)
    except ValidationError as exc:
        assert isinstance(expected, ValidationError) and exc.messages == expected.messages
    else:
        assert got == expected
