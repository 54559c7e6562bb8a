"""providers/json_items.py: a JSON listing's items come out as the pieces that complete them arrive,
with the paging keys wherever the object has them; bytes that are not JSON are a ValueError."""
import json

import pytest

from inference_gateway.providers.json_items import ArrayItems

LISTING = json.dumps({"has_more": True, "data": [{"id": "a", "n": 1}, {"id": "b", "tags": ["x", {"y": 2}]},
                                                 {"id": "c"}], "last_id": "c"}).encode()


def ids(item):
    return item.get("id") if isinstance(item, dict) else None


def test_each_item_comes_out_with_the_piece_that_completes_it():
    parser, out = ArrayItems("data", ids, ("has_more", "last_id")), []
    for at in range(len(LISTING)):  # one byte a piece: every split point
        for model_id in parser.feed(LISTING[at:at + 1]):
            out.append((model_id, LISTING[:at + 1].decode()))
    rest, found = parser.close()
    assert [model_id for model_id, _ in out] == ["a", "b", "c"] and rest == []
    # Each at its closing brace: nothing of the reply after it was needed.
    assert [seen[-1] for _, seen in out] == ["}"] * 3
    assert out[0][1].endswith('{"id": "a", "n": 1}') and out[2][1].endswith('{"id": "c"}')
    assert found == {"has_more": True, "last_id": "c"}


def test_what_parse_leaves_out_and_what_the_object_lacks_are_absent():
    body = b'{"models": [{"name": "m"}, 7, null, {"id": "x"}, "s"], "other": {"nextPageToken": "inner"}}'
    parser = ArrayItems("models", lambda item: item.get("name") if isinstance(item, dict) else None,
                        ("nextPageToken",))
    assert parser.feed(body) == ["m"]
    assert parser.close() == ([], {})  # a nested key of the same name is not the top-level one


@pytest.mark.parametrize("body", [b'[{"id": "a"}]', b'{"data": {"id": "a"}}', b'"data"', b'{"object": "list"}'])
def test_a_reply_without_the_top_level_array_has_no_items(body):
    parser = ArrayItems("data", ids)
    assert parser.feed(body) == [] and parser.close() == ([], {})


@pytest.mark.parametrize("body", [b"", b'{"data": [{"id": "a"}', b'{"data": [{"id": "a"}]} trailing',
                                  b'{"data": [{"id": "\xff"}]}', b"<html>502 Bad Gateway</html>"])
def test_bytes_that_are_not_json_are_a_value_error(body):
    parser = ArrayItems("data", ids)
    with pytest.raises(ValueError):
        parser.feed(body)
        parser.close()
