"""What OpenAI's chat completions and responses share on the way in: image URLs, tools, tool
choice, JSON arguments and response formats, as neutral types (pure translation)."""
import json
import re

from inference_gateway.compat.wire import bad, unsupported
from inference_gateway.types import ImagePart, ResponseFormat, Tool

DATA_URL = re.compile(r"^data:(image/(?:png|jpeg|gif|webp));base64,(.+)$", re.S)
# The native API's cap (api/schemas.py): a base64 image over 20 MiB decoded is refused.
MAX_IMAGE_BASE64 = 20 * 2**20 * 4 // 3
EMPTY_SCHEMA = {"type": "object", "properties": {}}


def image_part(url, where):
    """An ImagePart from an image URL: http(s), or a base64 data URL of png/jpeg/gif/webp."""
    if not isinstance(url, str):
        raise bad(where, "must be an image URL")
    found = DATA_URL.match(url)
    if found:
        if len(found.group(2)) > MAX_IMAGE_BASE64:
            raise bad(where, "the image is over 20 MiB")
        return ImagePart(data=found.group(2), mime_type=found.group(1))
    if url.startswith(("https://", "http://")):
        return ImagePart(url=url)
    raise bad(where, "must be an http(s) URL or a data:image/(png|jpeg|gif|webp);base64 URL")


def arguments(text, where):
    """A tool call's JSON-text arguments as an object."""
    if text in (None, ""):
        return {}
    try:
        value = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise bad(where, "must be a JSON object, as text")
    return value


def function_tool(spec, where):
    """A Tool from a function's {name, description?, parameters?, strict?}."""
    name, parameters = spec.get("name"), spec.get("parameters")
    if not isinstance(name, str) or not name:
        raise bad(f"{where}.name", "must be the function's name")
    if parameters is not None and not isinstance(parameters, dict):
        raise bad(f"{where}.parameters", "must be a JSON Schema object")
    description = spec.get("description")
    return Tool(name, parameters or EMPTY_SCHEMA, description if isinstance(description, str) else None)


def tool_choice(value, where, function_name):
    """auto/none/required, or the one function `function_name(value)` names."""
    if value is None:
        return None
    if value in ("auto", "none", "required"):
        return value
    if isinstance(value, dict) and value.get("type") == "function":
        name = function_name(value)
        if isinstance(name, str) and name:
            return {"name": name}
    raise unsupported(where, "must be auto, none, required or one function")


def response_format(kind, spec, where):
    """A neutral ResponseFormat from OpenAI's type and (for json_schema) its name/schema/strict."""
    if kind == "text":
        return None
    if kind == "json_object":
        return ResponseFormat("json")
    if kind == "json_schema":
        if not isinstance(spec, dict) or not isinstance(spec.get("schema"), dict):
            raise bad(where, "json_schema needs a schema object")
        name = spec.get("name") if isinstance(spec.get("name"), str) else "response"
        strict = spec.get("strict") if isinstance(spec.get("strict"), bool) else None
        return ResponseFormat("json_schema", name, spec["schema"], strict)
    raise bad(where, "type must be text, json_object or json_schema")


def arguments_text(call):
    """A neutral ToolCall's arguments as OpenAI sends them: JSON text."""
    return json.dumps(call["arguments"], separators=(",", ":"), ensure_ascii=False)
