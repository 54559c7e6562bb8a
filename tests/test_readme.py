"""The README against the code: every error code the gateway can answer is in its errors table."""
import pathlib
import re

from inference_gateway import errors

README = pathlib.Path(__file__).resolve().parent.parent / "README.rst"


def error_codes():
    return {value for name, value in vars(errors).items()
            if name.isupper() and isinstance(value, str) and value == name}


def test_the_errors_table_lists_every_code():
    text = README.read_text()
    listed = set(re.findall(r"^([A-Z][A-Z_]+)\s+\d{3}", text, re.M))
    codes = error_codes()
    assert "CANCELLED" in codes and "BAD_REQUEST" in codes
    assert codes <= listed, f"missing from README.rst's errors table: {sorted(codes - listed)}"
