"""multipart/form-data request bodies that send file parts from the caller's buffer."""
from urllib3.fields import RequestField
from urllib3.filepost import choose_boundary


class MultipartBody:
    """A `data=` body for requests: `files=` would join every part into one new bytes object,
    a second copy of the upload held for the whole call. This one yields views of the buffers it
    was given; it has a length (sent with Content-Length, not chunked) and can be iterated again
    (a retry sends it whole once more)."""

    def __init__(self, fields, files):
        self.boundary = choose_boundary()
        self.content_type = f"multipart/form-data; boundary={self.boundary}"
        self.parts = []
        for name, value in fields.items():
            self._add(RequestField.from_tuples(name, value), memoryview(str(value).encode()))
        for name, (filename, data, mime) in files.items():
            self._add(RequestField.from_tuples(name, (filename, b"", mime)), memoryview(data))
        self.parts.append(memoryview(f"--{self.boundary}--\r\n".encode()))

    def _add(self, field, data):
        # urllib3 renders (and escapes) the part headers, as it does for `files=`.
        head = f"--{self.boundary}\r\n" + field.render_headers()
        self.parts.extend((memoryview(head.encode()), data, memoryview(b"\r\n")))

    def __len__(self):
        return sum(part.nbytes for part in self.parts)

    def __iter__(self):
        return iter(self.parts)
