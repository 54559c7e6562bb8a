"""The SSE reader: line endings, split chunks, multi-line data, comments."""
from inference_gateway.providers.sse import SSEEvent, iter_events, iter_lines


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
