"""An estimate of a chat request's input tokens, for providers with no counting endpoint.

About four characters of English text a token (OpenAI's and Anthropic's rule of thumb), every text
the request carries (system, messages, tool calls and results, tool schemas), plus a flat
IMAGE_TOKENS per image (Anthropic's figure for an image of about 1.15 megapixels). An estimate, and
documented as one: a provider's own tokenizer may count 20% more or less."""
import json
import math

from inference_gateway.types import ImagePart, TextPart

CHARS_PER_TOKEN = 4
IMAGE_TOKENS = 1600
PER_MESSAGE = 3  # the role and separators each turn costs


def _content(content):
    if isinstance(content, str):
        return len(content), 0
    chars = sum(len(p.text) for p in content if isinstance(p, TextPart))
    return chars, sum(1 for p in content if isinstance(p, ImagePart))


def estimate_input_tokens(req):
    chars, images = len(req.system or ""), 0
    for message in req.messages:
        c, i = _content(message.content)
        chars, images = chars + c, images + i
        for call in message.tool_calls:
            chars += len(call.name) + len(json.dumps(call.arguments))
    for tool in req.tools or ():
        chars += len(tool.name) + len(tool.description or "") + len(json.dumps(tool.parameters))
    return (math.ceil(chars / CHARS_PER_TOKEN) + images * IMAGE_TOKENS
            + PER_MESSAGE * len(req.messages))
