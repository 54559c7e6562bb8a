"""The package's import graph, read from the source (ast): imports go down the layers only, no
module imports itself through others, and the wire-format translations stay pure. Blueprints are
registered in one place per surface, and no module adds routes to another's blueprint.

Layers, lowest first (README "Architecture"):
  0 config, errors, types, events, text, fast_json  settings, error types, neutral dataclasses, signals, text, JSON
                                        every store accepts
  1 providers, store                    upstream adapters and translations; the database
  2 gateway                             what a call does, whatever the surface
  3 web, api, compat                    HTTP: envelope, auth, observability; the routes
  4 app, cli, __init__, __main__        wiring: may import anything
A module's own imports are read, at any depth (function-level too); the package __init__ files
Python runs on the way to a module are not counted as its imports."""
import ast
import pathlib

import inference_gateway

PACKAGE = "inference_gateway"
ROOT = pathlib.Path(inference_gateway.__file__).parent

RANK = {"config": 0, "errors": 0, "types": 0, "events": 0, "text": 0, "fast_json": 0,
        "providers": 1, "store": 1,
        "gateway": 2,
        "web": 3, "api": 3, "compat": 3,
        "app": 4, "cli": 4, "__init__": 4, "__main__": 4}
# Same-rank neighbours that must not know each other: a provider knows no database, and the web
# plumbing no route.
FORBIDDEN = {("providers", "store"), ("web", "api"), ("web", "compat")}
# Libraries a wire-format translation must not need: data in, data out.
IMPURE = ("requests", "flask", "peewee", "marshmallow", "werkzeug")


def module_name(path):
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def is_package(name):
    return MODULES[name].name == "__init__.py"


def imports_of(name):
    """(imported name, line) for every import in the module, at any depth (function-level too)."""
    tree = ast.parse(MODULES[name].read_text(), filename=str(MODULES[name]))
    here = name if is_package(name) else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = here.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            # `from package import module` imports the module (its package's __init__ runs for
            # every module below it anyway, so it counts only when a name comes from it).
            modules = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in MODULES]
            if len(modules) < len(node.names):
                found.append((base, node.lineno))
            found += [(module, node.lineno) for module in modules]
    return found


def internal(target):
    """The package module an import names (the longest known prefix), or None for a library."""
    parts = target.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in MODULES:
            return candidate
        parts.pop()
    return None


GRAPH = {name: {internal(target) for target, _ in imports_of(name)} - {None, name} for name in MODULES}


def layer(name):
    """The layer a module belongs to: its first component under the package."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_module_has_a_layer():
    assert sorted({layer(name) for name in MODULES} - set(RANK)) == []


def test_imports_go_down_the_layers_only():
    upward = []
    for name in MODULES:
        for target, line in imports_of(name):
            target = internal(target)
            if target is None or target == name:
                continue
            src, dst = layer(name), layer(target)
            if RANK[dst] > RANK[src] or (src, dst) in FORBIDDEN:
                upward.append(f"{MODULES[name].relative_to(ROOT.parent)}:{line} {src} imports {target}")
    assert upward == []


def test_no_import_cycles():
    # Depth-first search for a back edge; the cycle is reported as the chain of modules.
    state, cycles = {}, []

    def visit(name, chain):
        state[name] = "open"
        for target in sorted(GRAPH[name]):
            if state.get(target) == "open":
                cycles.append(" -> ".join(chain[chain.index(target):] + [target]))
            elif target not in state:
                visit(target, chain + [target])
        state[name] = "done"

    for name in sorted(MODULES):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def translation_modules():
    return sorted(name for name in MODULES
                  if name.startswith(f"{PACKAGE}.providers.")
                  and (name.endswith("_format") or name == f"{PACKAGE}.providers.sse"))


def reachable(name):
    """The modules `name` imports, directly or through other modules of the package."""
    seen, todo = set(), [name]
    while todo:
        for target in GRAPH[todo.pop()]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def libraries_of(names):
    return {target.split(".")[0] for name in names for target, _ in imports_of(name) if internal(target) is None}


def test_the_translation_modules_are_found():
    assert {f"{PACKAGE}.providers.sse", f"{PACKAGE}.providers.openai_format",
            f"{PACKAGE}.providers.anthropic_format", f"{PACKAGE}.providers.google_format"} <= set(translation_modules())


def test_translation_modules_need_no_http_web_or_database_library():
    impure = {}
    for name in translation_modules():
        used = libraries_of({name} | reachable(name)) & set(IMPURE)
        if used:
            impure[name] = sorted(used)
    assert impure == {}


def test_the_checks_see_what_they_check():
    # Not blind: providers.base needs requests (through http), and an import inside a function
    # (api.register's blueprints) counts as much as one at the top.
    assert "requests" in libraries_of({f"{PACKAGE}.providers.base"} | reachable(f"{PACKAGE}.providers.base"))
    assert f"{PACKAGE}.api.chat_ws" in GRAPH[f"{PACKAGE}.api"]


ROUTE_DECORATORS = {"route", "get", "post", "put", "patch", "delete", "websocket"}
# The one module per surface that registers its blueprints on the app (create_app calls each).
REGISTRARS = {f"{PACKAGE}.api", f"{PACKAGE}.compat", f"{PACKAGE}.web.dashboard"}


def test_blueprints_are_registered_in_one_place_and_take_no_routes_from_other_modules():
    found = []
    for name in MODULES:
        tree = ast.parse(MODULES[name].read_text())
        imported = {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                    for alias in node.names}
        calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)]
        for call in calls:
            if call.func.attr == "register_blueprint" and name not in REGISTRARS:
                found.append(f"{name}:{call.lineno} registers a blueprint")
        decorators = [d for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.ClassDef))
                      for d in node.decorator_list
                      if isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute) and d.func.attr in ROUTE_DECORATORS]
        for decorator in decorators:
            for target in [decorator.func.value] + [kw.value for kw in decorator.keywords if kw.arg == "bp"]:
                if isinstance(target, ast.Name) and target.id in imported:
                    found.append(f"{name}:{decorator.lineno} adds a route to {target.id}, another module's blueprint")
    assert found == []
