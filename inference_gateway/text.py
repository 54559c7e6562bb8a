"""Text every store and peer accepts: no NUL characters, no unpaired surrogates."""
import re

# PostgreSQL text cannot hold NUL; an unpaired surrogate cannot be encoded as UTF-8 (SQLite,
# PostgreSQL, a provider's JSON). JSON's surrogate pairs arrive combined, so any left is unpaired.
BAD_CHAR = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def clean(text):
    """Whether `text` is free of NUL characters and unpaired surrogates."""
    if text.isascii():  # O(1) in CPython: most text skips the regex
        return "\x00" not in text
    return BAD_CHAR.search(text) is None


def storable(value):
    """`value` with each NUL and unpaired surrogate of a string replaced by U+FFFD; anything else
    unchanged. The request-log writer's last line of defence: a reply the provider already
    billed for (its text, its error message) must not cost the call its row."""
    if type(value) is str and not clean(value):
        return BAD_CHAR.sub(REPLACEMENT, value)
    return value
