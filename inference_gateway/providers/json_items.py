"""A JSON listing parsed as it arrives: the items of its top-level array one by one, never the whole
reply in memory (a provider's model list is its choice of size). Pure: bytes in, values out."""
import ijson


class ArrayItems:
    """Feed a JSON object piece by piece; each piece gives `parse(item)` for the items of its
    top-level `array` that it completed (None left out), and `close` the top-level `scalars` (e.g. a
    paging token) once the object ended. Raises ValueError where the bytes stop being JSON."""

    def __init__(self, array, parse, scalars=()):
        self._parse = parse
        self._items = ijson.sendable_list()
        self._scalars = {name: ijson.sendable_list() for name in scalars}
        # One parser per path, each wholly in C (ijson's yajl2_c backend), rather than one parser
        # whose every token goes through Python to find the paging keys: as fast with one key (a
        # 1,000-model Gemini page, 10.6 against 10.9 ms) and no parser bookkeeping here.
        self._parsers = [ijson.items_coro(self._items, array + ".item", use_float=True)] + [
            ijson.items_coro(found, name, use_float=True) for name, found in self._scalars.items()]

    def feed(self, piece):
        try:
            for parser in self._parsers:
                parser.send(piece)
        except ijson.JSONError as exc:
            raise ValueError(str(exc)) from None
        return self._take()

    def close(self):
        """(the items the end of the object completed, {scalar's name: value} for those present)."""
        try:
            for parser in self._parsers:
                parser.close()
        except ijson.JSONError as exc:
            raise ValueError(str(exc)) from None
        return self._take(), {name: found[0] for name, found in self._scalars.items() if found}

    def _take(self):
        values = [value for value in map(self._parse, self._items) if value is not None]
        del self._items[:]
        return values
