"""A small Server-Sent Events reader over a streamed `requests` response."""
import sys
from dataclasses import dataclass
from typing import Optional


@dataclass
class SSEEvent:
    event: Optional[str]
    data: str


def is_final(event):
    """The event a provider ends a stream with: OpenAI's `[DONE]`, Anthropic's `message_stop`."""
    return event.event == "message_stop" or event.data.strip() == "[DONE]"


class EventTooLarge(ValueError):
    """An event (its data lines together, or one line still without its end) over the parser's limit."""


def split_lines(buffer):
    """(the complete lines in a byte buffer, decoded; the incomplete rest), split on \\n, \\r\\n or \\r."""
    if b"\r" not in buffer:
        # Providers end lines with \n: one split and one decode for the whole chunk instead of a
        # find, a slice and a decode per line (\n never occurs inside a UTF-8 sequence, so decoding
        # the lines together or one by one gives the same text).
        head, end, rest = buffer.rpartition(b"\n")
        return (head.decode("utf-8", "replace").split("\n") if end else []), rest
    lines = []
    while True:
        cr = buffer.find(b"\r")
        lf = buffer.find(b"\n")
        if cr == -1 and lf == -1:
            break
        if cr != -1 and (lf == -1 or cr < lf):
            if cr == len(buffer) - 1:
                # A lone \r at the end may be the first half of \r\n: wait for the next byte.
                break
            end, skip = cr, 2 if buffer[cr + 1:cr + 2] == b"\n" else 1
        else:
            end, skip = lf, 1
        lines.append(buffer[:end].decode("utf-8", "replace"))
        buffer = buffer[end + skip:]
    return lines, buffer


def iter_lines(chunks):
    """Split a byte stream into text lines, yielding each as soon as its chunk has arrived."""
    pending = b""
    for chunk in chunks:
        if chunk:
            lines, pending = split_lines(pending + chunk)
            yield from lines
    if pending:
        yield pending.rstrip(b"\r").decode("utf-8", "replace")


class SSEParser:
    """Incremental SSE parsing: `feed()` each piece of the body as it arrives and get back the
    events it completes; `finish()` at the end of the body. One object instead of a chain of
    generators, because every generator level is resumed once per chunk of every open stream."""

    def __init__(self, max_bytes=sys.maxsize):
        # `max_bytes` bounds what one event holds: its data lines so far plus the line still
        # arriving. Without it an upstream decides how much of the worker's memory a stream takes:
        # one endless line, or endless short `data:` lines with no blank line to end the event.
        self.max_bytes = max_bytes
        self.pending = b""
        self.event, self.data, self.size = None, [], 0

    def feed(self, chunk):
        events = []
        lines, self.pending = split_lines(self.pending + chunk if self.pending else chunk)
        for line in lines:
            self._line(line, events)
        if self.size + len(self.pending) > self.max_bytes:
            raise EventTooLarge(self.max_bytes)
        return events

    def finish(self):
        events = []
        if self.pending:
            self._line(self.pending.rstrip(b"\r").decode("utf-8", "replace"), events)
            self.pending = b""
        if self.data:
            events.append(SSEEvent(self.event, "\n".join(self.data)))
            self.event, self.data, self.size = None, [], 0
        return events

    def _line(self, line, events):
        """Comments and `retry:`/`id:` fields are ignored; a blank line ends an event."""
        if not line:
            if self.data:
                events.append(SSEEvent(self.event, "\n".join(self.data)))
            self.event, self.data, self.size = None, [], 0
            return
        if line[0] == ":":
            return
        name, _, value = line.partition(":")
        if value[:1] == " ":
            value = value[1:]
        if name == "event":
            self.event = value
        elif name == "data":
            self.data.append(value)
            self.size += len(value)
            if self.size > self.max_bytes:
                raise EventTooLarge(self.max_bytes)


def iter_events(chunks, max_bytes=sys.maxsize):
    """Parse a byte stream into SSE events, each yielded as soon as it is complete."""
    parser = SSEParser(max_bytes)
    for chunk in chunks:
        if chunk:
            yield from parser.feed(chunk)
    yield from parser.finish()
