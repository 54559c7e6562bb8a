"""Uploaded audio: base64 decoding, the size limit, in-memory multipart parts, and a filename
whose extension tells the provider the format (providers pick the decoder by extension)."""
import binascii
import io
import os
import re

from inference_gateway import errors

# What OpenAI's /audio/transcriptions accepts (and whisper servers follow).
EXTENSIONS = ("flac", "m4a", "mp3", "mp4", "mpeg", "mpga", "oga", "ogg", "wav", "webm")
DEFAULT_STEM = "audio"
MAX_STEM = 200
BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
WHITESPACE = re.compile(r"\s")
DATA_URL = re.compile(r"data:[\w.+/-]*(;[\w=.+-]+)*;base64,")


def too_large(limit):
    return errors.PayloadTooLarge(
        f"audio is larger than the {limit} bytes ({limit / 2**20:g} MiB) this gateway accepts: "
        "send a shorter or more compressed recording")


def sniff(data):
    """The extension the bytes' magic number says, or None."""
    head = bytes(data[:12])
    if head.startswith(b"ID3"):
        return "mp3"
    # An MPEG audio frame header: 11 sync bits, then a layer other than 00 (00 is AAC/ADTS).
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06:
        return "mp3"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "wav"
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b"fLaC"):
        return "flac"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm"
    if head[4:8] == b"ftyp":
        return "m4a"
    return None


def filename_for(data, given=None):
    """The upload's filename: the given one when its extension is a known format, else the
    given stem (or 'audio') with the sniffed extension. 400 when neither tells the format."""
    # Only the last path component: a client's directories are not the provider's business.
    name = os.path.basename((given or "").replace("\\", "/")).strip()
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    stem, ext = stem[:MAX_STEM] or DEFAULT_STEM, ext.lower()
    if ext in EXTENSIONS:
        return f"{stem}.{ext}"
    sniffed = sniff(data)
    if sniffed:
        return f"{stem}.{sniffed}"
    if ext:
        return f"{stem}.{ext}"  # a format we do not know of: the provider may
    raise errors.BadRequest(
        "could not tell the audio format from its bytes: pass a filename with one of the "
        "extensions " + ", ".join(EXTENSIONS))


def decode_base64(text, limit):
    """The audio in a base64 string (a `data:` URL is accepted), decoded once; 400 when it is not
    base64 or empty, 413 when the decoded size would exceed `limit` (checked before decoding)."""
    prefix = DATA_URL.match(text)
    if prefix:
        text = text[prefix.end():]
    padding = 2 if text.endswith("==") else 1 if text.endswith("=") else 0
    if len(text) // 4 * 3 - padding > limit:
        raise too_large(limit)
    try:
        audio = strict_b64decode(text)
    except ValueError:
        if not WHITESPACE.search(text):
            raise errors.BadRequest(
                "audio is not valid base64: use the standard alphabet (A-Z a-z 0-9 + /) with "
                "'=' padding") from None
        # Line-wrapped output (`base64` wraps at 76 columns): tolerated at the cost of a copy.
        return decode_base64(WHITESPACE.sub("", text), limit)
    if not audio:
        raise errors.BadRequest("audio is empty")
    return audio


def strict_b64decode(text):
    """Decode without copying the text first (base64.b64decode would encode a str to bytes)."""
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except TypeError:  # Python 3.10 has no strict mode
        if not BASE64.fullmatch(text):
            raise ValueError("not base64") from None
        return binascii.a2b_base64(text)


class MemoryParts:
    """A stream factory for werkzeug's multipart parser that keeps file parts in memory.

    werkzeug's default spools any part over 500 KB to an unencrypted temporary file; audio must
    not touch the disk. The limit counts every file part together, so a body cannot hold more
    than `limit` bytes of uploads in memory whatever its shape."""

    def __init__(self, limit):
        self.limit = limit
        self.used = 0

    def __call__(self, total_content_length=None, content_type=None, filename=None,
                 content_length=None):
        return _BoundedPart(self)

    def count(self, size):
        self.used += size
        if self.used > self.limit:
            raise too_large(self.limit)


class _BoundedPart(io.BytesIO):
    def __init__(self, owner):
        super().__init__()
        self.owner = owner

    def write(self, data):
        self.owner.count(len(data))
        return super().write(data)


def take_bytes(part):
    """The bytes of a parsed file part, then release the part. BytesIO.getvalue() hands over its
    own buffer instead of copying it when nothing else holds a view of it."""
    data = part.stream.getvalue()
    part.stream.close()
    return data
