"""The OpenAPI 3.1 document of the native API, generated from the routes and their schemas.

Each view says what it takes and answers with `@describe(...)` next to its route; the document is
built from `app.url_map`, so a route is never missing from it: one without `@describe` still
appears (with a generic answer and `x-undescribed: true`), and tests/test_openapi.py names it."""
import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from inference_gateway import errors

DESCRIPTION_ATTR = "openapi"
ROLE_ATTR = "gateway_role"  # web/auth.py's marker: "admin", "public", or absent for callers
# The dashboard (/dashboard) is left out: HTML pages for people, signed in by a cookie, not an API.
DOCUMENTED_PREFIXES = ("/api/v1/inference/",)
DOCUMENTED_PATHS = ("/healthz", "/readyz", "/metrics")
# What can go wrong on any route: a missing key, the database, a bug.
COMMON_ERRORS = ((401, errors.UNAUTHORIZED), (500, errors.INTERNAL_ERROR), (503, errors.SERVICE_UNAVAILABLE))
BODY_ERRORS = ((400, errors.BAD_REQUEST), (413, errors.PAYLOAD_TOO_LARGE))
# A call that reaches a provider: resolution, the provider's answer, its limits and its timeouts.
UPSTREAM_ERRORS = (
    (400, errors.BAD_REQUEST), (400, errors.NO_PROVIDER), (400, errors.PROVIDER_NOT_CONFIGURED),
    (400, errors.UNSUPPORTED), (400, errors.UPSTREAM_ERROR), (404, errors.NOT_FOUND),
    (429, errors.RATE_LIMITED), (502, errors.UPSTREAM_ERROR), (504, errors.UPSTREAM_TIMEOUT),
    (508, errors.LOOP_DETECTED))
STATUS_TEXT = {101: "Switching Protocols", 200: "OK", 201: "Created", 400: "Bad Request",
               401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict",
               413: "Payload Too Large", 429: "Too Many Requests", 500: "Internal Server Error",
               502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout", 508: "Loop Detected"}
CONVERTER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def describe(summary, *, body=None, form=None, query=None, reply=None, many=False, status=200,
             media=None, errors=(), tags=None, description=None, stream=None, body_required=True, links=None):
    """Describe a view for the OpenAPI document (put it below the route decorator).

    body/form/query: marshmallow schema classes of the JSON body, the multipart form, the query
    string; reply: the schema of `data` in the success envelope (a list of them with many=True);
    media: a non-JSON success type (e.g. "text/event-stream"); errors: (status, code) pairs this
    route answers besides the common ones; stream: a description of a non-JSON success body;
    links: {name: (operationId, {parameter: runtime expression})}, what a client (or a stateful
    fuzzer) can call next with a value from this answer."""
    def mark(view):
        setattr(view, DESCRIPTION_ATTR, {
            "summary": summary, "body": body, "form": form, "query": query, "reply": reply,
            "many": many, "status": status, "media": media, "errors": tuple(errors), "tags": tags,
            "description": description or (view.__doc__ or "").strip() or None, "stream": stream,
            "body_required": body_required, "links": links or {}})
        return view
    return mark


def documented_rules(app):
    """The url_map rules of the native API (health and metrics included), in map order."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        if rule.rule.startswith(DOCUMENTED_PREFIXES) or rule.rule in DOCUMENTED_PATHS:
            yield rule


def operation_methods(rule):
    return sorted(m.lower() for m in rule.methods - {"HEAD", "OPTIONS"})


def openapi_path(rule):
    return CONVERTER.sub(r"{\1}", rule.rule)


def error_response(codes):
    return {"description": " / ".join(codes), "content": {"application/json": {"schema": {
        "allOf": [{"$ref": "#/components/schemas/ErrorEnvelope"}],
        "properties": {"error": {"properties": {"code": {"enum": sorted(set(codes))}}}}}}}}


def success_schema(reply, many):
    data = {"$ref": f"#/components/schemas/{reply}"} if reply else {}
    if many:
        data = {"type": "array", "items": data}
    return {"type": "object", "required": ["success", "data"], "additionalProperties": False,
            "properties": {"success": {"const": True}, "data": data}}


class Builder:
    def __init__(self, title, version):
        self.marshmallow = MarshmallowPlugin()
        self.spec = APISpec(title=title, version=version, openapi_version="3.1.0",
                            plugins=[self.marshmallow],
                            info={"description": "Every answer is an envelope: {success: true, data} "
                                                 "or {success: false, error: {code, message}}."})
        self.marshmallow.converter.add_attribute_function(custom_field)
        self.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
        self.spec.components.schema("ErrorEnvelope", {
            "type": "object", "required": ["success", "error"], "properties": {
                "success": {"const": False},
                "error": {"type": "object", "required": ["code", "message"], "properties": {
                    "code": {"type": "string"}, "message": {"type": "string"},
                    "details": {"type": "object", "description": "per field: what is wrong with it",
                                "additionalProperties": {"type": "array", "items": {"type": "string"}}}}}}})

    def ref(self, schema):
        """The component name of a schema class, registering it on first use."""
        cls = schema if isinstance(schema, type) else type(schema)
        name = re.sub(r"Schema$", "", cls.__name__) or cls.__name__
        if getattr(schema, "partial", False) is True:
            name += "Changes"  # every field optional (a PUT that changes some of them)
        if name not in self.spec.components.schemas:
            self.spec.components.schema(name, schema=schema)
        return name

    def operation(self, rule, method, view):
        info = getattr(view, DESCRIPTION_ATTR, None)
        role = getattr(view, ROLE_ATTR, None) or "caller"
        op = {"operationId": f"{rule.endpoint.replace('.', '_')}_{method}", "x-role": role,
              "tags": [rule.endpoint.split(".")[0]]}
        if info is None:
            info = {"summary": rule.endpoint, "errors": (), "status": 200, "many": False, "body": None,
                    "form": None, "query": None, "reply": None, "media": None, "stream": None,
                    "description": (view.__doc__ or "").strip() or None, "tags": None,
                    "body_required": True, "links": {}}
            op["x-undescribed"] = True
        op["summary"] = info["summary"]
        if info["description"]:
            op["description"] = info["description"]
        if info["tags"]:
            op["tags"] = list(info["tags"])
        if role != "public":
            op["security"] = [{"bearer": []}]
        params = [{"in": "path", "name": name, "required": True, "schema": {"type": "string", "minLength": 1}}
                  for name in sorted(rule.arguments)]
        if info["query"]:
            params.append({"in": "query", "schema": info["query"]})
        if params:
            op["parameters"] = params
        codes = {}
        for status, code in self.errors_of(rule, role, info):
            codes.setdefault(status, []).append(code)
        body = {}
        if info["body"]:
            body["application/json"] = {"schema": self.ref(info["body"])}
        if info["form"]:
            body["multipart/form-data"] = {"schema": info["form"]}
        if body:
            op["requestBody"] = {"required": info["body_required"], "content": body}
        op["responses"] = {str(info["status"]): self.success(info)}
        op["responses"].update({str(s): error_response(c) for s, c in sorted(codes.items())})
        return op

    def errors_of(self, rule, role, info):
        pairs = list(info["errors"])
        pairs += COMMON_ERRORS if role != "public" else COMMON_ERRORS[1:]
        if role == "admin":
            pairs.append((403, errors.FORBIDDEN))
        if info["body"] or info["form"]:
            pairs += BODY_ERRORS
        if info["query"]:
            pairs.append((400, errors.BAD_REQUEST))
        if rule.arguments:
            pairs.append((404, errors.NOT_FOUND))
        return sorted(set(pairs))

    def success(self, info):
        text = STATUS_TEXT.get(info["status"], "OK")
        if info["media"]:
            return {"description": info["stream"] or text,
                    "content": {info["media"]: {"schema": {
                        "type": "object" if info["media"] == "application/json" else "string"}}}}
        if info["status"] == 101:
            return {"description": info["stream"] or text}
        reply = self.ref(info["reply"]) if info["reply"] else None
        response = {"description": text, "content": {"application/json": {
            "schema": success_schema(reply, info["many"])}}}
        if info["links"]:
            response["links"] = {name: {"operationId": op, "parameters": params}
                                 for name, (op, params) in info["links"].items()}
        return response

    def build(self, app):
        for rule in documented_rules(app):
            view = app.view_functions[rule.endpoint]
            self.spec.path(path=openapi_path(rule), operations={
                method: self.operation(rule, method, view) for method in operation_methods(rule)})
        return self.spec.to_dict()


def custom_field(self, field, ret, **kwargs):
    """A field class's own JSON Schema (`openapi = {...}` on the class), for fields marshmallow's
    plugin cannot map (a string or a list of strings, say). It replaces what the plugin guessed
    from the validators (a Length on a string-or-list is not a string's maxLength)."""
    schema = getattr(field, "openapi", None)
    if schema is None:
        # A nullable field with choices takes null too (the plugin leaves it out of the enum).
        if field.allow_none and "enum" in ret and None not in ret["enum"]:
            return {"enum": [*ret["enum"], None]}
        return {}
    kept = {key: ret[key] for key in ("description", "default", "writeOnly", "readOnly") if key in ret}
    ret.clear()
    ret.update(kept)
    return {"anyOf": [dict(schema), {"type": "null"}]} if field.allow_none else dict(schema)


def build_document(app, title="inference-gateway", version="1"):
    """The OpenAPI document (a dict) for `app`'s routes."""
    return Builder(title, version).build(app)
