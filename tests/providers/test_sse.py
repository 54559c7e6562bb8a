"""The SSE reader: line endings, split chunks, multi-line data, comments."""
import pytest

from inference_gateway.providers.sse import EventTooLarge, SSEEvent, SSEParser, iter_events, iter_lines


def test_lines_split_on_every_line_ending():
    assert list(iter_lines([b"a\nb\r\nc\rd"])) == ["a", "b", "c", "d"]


def test_crlf_split_across_chunks_is_one_line_end():
    assert list(iter_lines([b"a\r", b"\nb\n"])) == ["a", "b"]


def test_a_line_is_yielded_as_soon_as_it_is_complete():
    lines = iter_lines(iter([b"data: one\n", b"data: tw", b"o\n"]))
    assert next(lines) == "data: one"
    assert next(lines) == "data: two"


def test_multibyte_characters_split_across_chunks_survive():
    text = "data: caf\u00e9 \u2603\n".encode()
    assert list(iter_lines([text[:9], text[9:12], text[12:]])) == ["data: caf\u00e9 \u2603"]


def test_events_carry_their_name_and_joined_data():
    body = [b"event: message_start\ndata: {\"a\":\n", b"data: 1}\n\n: keep-alive\n\ndata: x\n\n"]
    assert list(iter_events(body)) == [SSEEvent("message_start", '{"a":\n1}'), SSEEvent(None, "x")]


def test_ids_retry_and_comments_are_ignored_and_the_name_resets():
    body = [b"id: 7\nretry: 100\nevent: ping\ndata: {}\n\ndata:no-space\n\n"]
    assert list(iter_events(body)) == [SSEEvent("ping", "{}"), SSEEvent(None, "no-space")]


def test_a_last_event_without_blank_line_is_still_delivered():
    assert list(iter_events([b"data: [DONE]"])) == [SSEEvent(None, "[DONE]")]


def test_blank_lines_without_data_make_no_event():
    assert list(iter_events([b"\n\n\r\n"])) == []


def test_lines_read_together_or_one_by_one_are_the_same():
    raw = "data: caf\u00e9\n\ndata: \u2603 snow\nevent: x\n\n".encode() + b"data: bad \xff byte\n\n"
    together = list(iter_events([raw]))
    assert together == list(iter_events(raw[i:i + 1] for i in range(len(raw))))
    assert together == list(iter_events([raw.replace(b"\n", b"\r\n")]))
    assert together[-1] == SSEEvent(None, "bad \ufffd byte")


def test_an_event_of_many_short_data_lines_over_the_limit_is_refused():
    parser = SSEParser(max_bytes=100)
    assert parser.feed(b"data: " + b"a" * 40 + b"\n" + b"data: " + b"b" * 40 + b"\n") == []
    with pytest.raises(EventTooLarge):
        parser.feed(b"data: " + b"c" * 40 + b"\n")  # 120 bytes of data in one event, no blank line yet


def test_a_line_still_arriving_counts_with_the_data_before_it():
    parser = SSEParser(max_bytes=100)
    parser.feed(b"data: " + b"a" * 60 + b"\n")
    with pytest.raises(EventTooLarge):
        parser.feed(b"data: " + b"b" * 40)  # 60 bytes of data plus a 46-byte line without its end


def test_the_limit_is_per_event():
    parser = SSEParser(max_bytes=100)
    events = [e for _ in range(50) for e in parser.feed(b"data: " + b"a" * 45 + b"\ndata: " + b"b" * 45 + b"\n\n")]
    assert len(events) == 50 and events[0].data == "a" * 45 + "\n" + "b" * 45
    with pytest.raises(EventTooLarge):
        list(iter_events([b"data: " + b"x" * 101 + b"\n\n"], max_bytes=100))
