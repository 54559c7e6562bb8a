"""What the fake answers to a rich chat request, whatever the wire format: a tool call, the text of
a tool result, a JSON answer, or what it saw in the images. Each kind reads its own request shape
into a `Rich` and writes the answer back in its own shape.

Off unless a test sets `up.rich = True` (other tests script their own tool turns and expect the
plain reply after them). Rules, first match wins:
  the last turn carries tool results  -> text "The tool said: <results>";
  the request declares tools (and does not forbid calling them) -> a call to the forced tool or the
      first one, with `up.tool_arguments` (`up.json_answer` when the call carries a response format);
      every declared tool when `up.parallel_tools` is set;
  a JSON response format              -> text json.dumps(up.json_answer);
  images in the last user turn         -> text "I see N image(s): <mime types>";
  otherwise                            -> None (the plain reply).
`up.usage_details` = {"cache_read", "cache_write", "reasoning"} makes every reply report those tokens."""
import json
from dataclasses import dataclass, field
from typing import Optional

DEFAULT_TOOL_ARGUMENTS = {"city": "Paris"}
DEFAULT_JSON_ANSWER = {"city": "Paris", "population": 2102650}


@dataclass
class Rich:
    tools: list = field(default_factory=list)  # declared tool names
    forced: Optional[str] = None  # a tool the request forces
    no_calls: bool = False  # tool choice "none"
    tool_results: list = field(default_factory=list)  # texts of the last turn's tool results
    json: bool = False
    images: list = field(default_factory=list)  # mime types in the last user turn
    structured_tool: bool = False  # the forced tool carries a response format (Anthropic without native mode)


@dataclass
class Answer:
    text: Optional[str] = None
    calls: list = field(default_factory=list)  # of (id, name, arguments dict)


def answer(up, rich):
    if not up.rich:
        return None
    if rich.tool_results:
        return Answer(text="The tool said: " + "; ".join(rich.tool_results))
    if rich.tools and not rich.no_calls:
        names = [rich.forced] if rich.forced else (rich.tools if up.parallel_tools else rich.tools[:1])
        arguments = up.json_answer if rich.structured_tool else up.tool_arguments
        up.call_count += 1
        return Answer(calls=[(f"call_fake{up.call_count}_{i}", name, arguments) for i, name in enumerate(names)])
    if rich.json:
        return Answer(text=json.dumps(up.json_answer))
    if rich.images:
        return Answer(text=f"I see {len(rich.images)} image(s): " + ", ".join(rich.images))
    return None


def pieces(text, size=4):
    """Text cut into `size`-character pieces, as streamed arguments arrive."""
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def words_of(text):
    split = text.split(" ")
    return split[:1] + [" " + w for w in split[1:]]


def details(up):
    return up.usage_details or {}


def record_usage(up, input_tokens, output_tokens, reported):
    """`up.last_usage` as the gateway should report it: with the details this wire format has
    (`reported`), when set."""
    usage = {"inputTokens": input_tokens, "outputTokens": output_tokens}
    names = {"cache_read": "cacheReadTokens", "cache_write": "cacheWriteTokens", "reasoning": "reasoningTokens"}
    for key, value in details(up).items():
        if value and key in reported:
            usage[names[key]] = value
    up.last_usage = usage
    return usage
