"""The wire-format modules are pure translation: data in, data out. Neither they nor anything they
import (followed through the package) imports an HTTP client, a web framework or the database layer,
so a compatible surface can reuse them both ways and a test needs no network to run them."""
import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "inference_gateway"
TRANSLATION = ["providers/openai_format.py", "providers/anthropic_format.py", "providers/google_format.py",
               "providers/common.py", "providers/sse.py"]
FORBIDDEN = ("requests", "urllib3", "flask", "werkzeug", "peewee", "playhouse", "marshmallow")


def imports(path):
    """Every module name a file imports at any level (absolute names)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def source_of(name):
    """The package file a module name refers to, or None (third-party, or a name inside a module)."""
    if not name.startswith("inference_gateway."):
        return None
    path = PACKAGE.joinpath(*name.split(".")[1:])
    return path.with_suffix(".py") if path.with_suffix(".py").exists() else None


@pytest.mark.parametrize("module", TRANSLATION)
def test_a_translation_module_reaches_no_http_web_or_database_library(module):
    seen, todo, found = set(), [PACKAGE / module], []
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in imports(path):
            if name.split(".")[0] in FORBIDDEN:
                found.append(f"{path.relative_to(PACKAGE)} imports {name}")
            source = source_of(name)
            if source is not None:
                todo.append(source)
    assert not found, found
    assert PACKAGE / "types.py" in seen or module.endswith("sse.py")  # the walk did follow the package
