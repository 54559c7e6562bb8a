"""The base of every request schema: unknown fields are rejected, with a hint when the field is
another casing of a known one (`max_tokens: Unknown field; did you mean maxTokens?`)."""
from marshmallow import RAISE, Schema

UNKNOWN = Schema._default_error_messages["unknown"]


def folded(name):
    """A field name without case or separators: max_tokens, max-tokens and MaxTokens agree."""
    return name.replace("_", "").replace("-", "").lower()


def casing_hints(schema, messages):
    """Rewrite, in place, each 'Unknown field.' whose name folds to one of `schema`'s inputs."""
    if not isinstance(messages, dict):
        return
    known = {folded(field.data_key or name): field.data_key or name
             for name, field in schema.load_fields.items()}
    for key, value in messages.items():
        meant = known.get(folded(key)) if isinstance(key, str) else None
        if meant and meant != key and value == [UNKNOWN]:
            messages[key] = [f"{UNKNOWN.rstrip('.')}; did you mean {meant}?"]


class StrictSchema(Schema):
    """Input schema: unknown fields are a 400 that names them (and the field meant, if a casing)."""

    class Meta:
        unknown = RAISE

    def handle_error(self, error, data, **kwargs):
        casing_hints(self, error.messages)
