"""Reasoning on the compatible surfaces, pure translation: the request settings (OpenAI's effort
and summary, Anthropic's `thinking`) as a neutral Reasoning, and the rule all three surfaces share
for a tool call's own signature.

A tool call can carry its own signature (Gemini's thoughtSignature sits on the functionCall part).
Anthropic and the Responses API have no such field, but each has a block for a signed thought: a
call's signature goes out as a thought with no text right before the call, and such a thought
right before a call comes back as that call's signature. Anthropic's own thinking blocks with no
text (display "omitted") take the same way there and back, unchanged."""
from inference_gateway.compat.wire import bad, unsupported
from inference_gateway.types import EFFORTS, MIN_BUDGET, Reasoning, Thought

SUMMARIES = ("auto", "concise", "detailed")
DISPLAYS = {"summarized": "auto", "omitted": "omitted"}


def effort(value, where):
    if value is None:
        return None
    if value not in EFFORTS:
        raise bad(where, "must be one of: " + ", ".join(EFFORTS))
    return value


def thinking(value, where="thinking"):
    """Anthropic's `thinking`: {type: enabled, budget_tokens, display?} | {type: adaptive, display?}
    | {type: disabled}, as a Reasoning (None when absent)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise bad(where, "must be an object with a type")
    kind = value.get("type")
    allowed = {"enabled": ("type", "budget_tokens", "display"), "adaptive": ("type", "display"),
               "disabled": ("type",)}.get(kind)
    if allowed is None:
        raise unsupported(f"{where}.type", "must be enabled, adaptive or disabled")
    for key in value:
        if key not in allowed:
            raise unsupported(f"{where}.{key}", f"is not taken with type {kind}")
    budget = value.get("budget_tokens")
    if kind == "enabled" and (isinstance(budget, bool) or not isinstance(budget, int) or budget < MIN_BUDGET):
        raise bad(f"{where}.budget_tokens", f"must be an integer of at least {MIN_BUDGET}")
    display = value.get("display")
    if display is not None and display not in DISPLAYS:
        raise bad(f"{where}.display", "must be summarized or omitted")
    return Reasoning(mode=kind, budget_tokens=budget, summary=DISPLAYS.get(display))


def merged(current, **changes):
    """A Reasoning with `changes` set on it (a new one when there is none yet)."""
    reasoning = current or Reasoning()
    for name, value in changes.items():
        if value is not None:
            setattr(reasoning, name, value)
    return reasoning


def top_k(value, where="top_k"):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise bad(where, "must be a positive integer")
    return value


def is_call_signature(thought):
    """A thought with a signature and no text, which stands for the next tool call's signature."""
    return not thought.text and thought.signature is not None and thought.redacted is None


def claim_signature(thoughts, call, right_before):
    """Give `call` the signature of the thought just before it (see the module's note)."""
    if right_before and thoughts and is_call_signature(thoughts[-1]):
        call.signature = thoughts.pop().signature


def call_thought(call):
    """The thought that carries a tool call's signature out, or None."""
    return Thought("", call.signature) if call.signature else None
