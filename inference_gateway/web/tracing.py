"""OpenTelemetry traces, on when OTEL_EXPORTER_OTLP_ENDPOINT is set: a server span per request and
a client span per upstream attempt, with the GenAI semantic conventions' attributes, exported over
OTLP/HTTP by the OpenTelemetry SDK; the attempt's W3C `traceparent` goes to the provider.

Unset, nothing here runs and the SDK is never imported (the `otel` extra need not be installed)."""
import logging

from flask import current_app, g, has_request_context, request

log = logging.getLogger(__name__)

TRACER = "inference_gateway.tracer"
# The API's endpoint names as GenAI operations (chat and embeddings are the convention's own names).
OPERATIONS = {"chat": "chat", "chat_stream": "chat", "chat_ws": "chat", "embed": "embeddings",
              "images": "generate_image", "transcribe": "transcribe", "models_sync": "list_models"}
# Provider types as gen_ai.system values (the convention's well-known names where there is one).
SYSTEMS = {"google": "gcp.gemini"}


def init_app(app):
    endpoint = app.config.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if not endpoint:
        return
    # Imported here only: with traces off, no OpenTelemetry module is loaded at all.
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:
        raise RuntimeError("OTEL_EXPORTER_OTLP_ENDPOINT is set but the OpenTelemetry SDK is not installed: "
                           "pip install 'inference-gateway[otel]'") from exc

    from inference_gateway.providers.base import Provider

    provider = TracerProvider(resource=Resource.create({"service.name": app.config["OTEL_SERVICE_NAME"]}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=traces_url(endpoint))))
    app.extensions[TRACER] = provider.get_tracer("inference_gateway")
    app.extensions[TRACER + ".provider"] = provider
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request(_finish)
    app.teardown_request(_detach)
    Provider.trace_attempt = staticmethod(attempt_span)
    log.info("traces go to %s over OTLP/HTTP", traces_url(endpoint))


def traces_url(endpoint):
    """OTEL_EXPORTER_OTLP_ENDPOINT is the collector's root; traces are posted to /v1/traces."""
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith("/v1/traces") else endpoint + "/v1/traces"


def _start():
    from opentelemetry import context, propagate, trace

    tracer = current_app.extensions[TRACER]
    route = request.url_rule.rule if request.url_rule is not None else request.path
    span = tracer.start_span(f"{request.method} {route}", context=propagate.extract(request.headers),
                             kind=trace.SpanKind.SERVER, attributes={
                                 "http.request.method": request.method, "url.path": request.path,
                                 "http.route": route})
    g.otel_span = span
    g.otel_token = context.attach(trace.set_span_in_context(span))


def _detach(exc=None):
    from opentelemetry import context

    token = g.pop("otel_token", None)
    if token is not None:
        context.detach(token)


def _finish(response):
    span = g.pop("otel_span", None)
    if span is None:
        return response
    span.set_attribute("http.response.status_code", response.status_code)
    record = g.get("call_record")

    def end():
        # After the body is sent: a stream's span covers the whole stream and its usage.
        if record is not None:
            span.set_attributes(call_attributes(record))
            if record.error_code:
                span.set_attribute("error.type", record.error_code)
        if response.status_code >= 500 or (record is not None and record.error_code):
            from opentelemetry.trace import Status, StatusCode

            span.set_status(Status(StatusCode.ERROR, record.error_code if record is not None else None))
        span.end()

    response.call_on_close(end)
    return response


def genai_attributes(record, provider_type=None):
    """The GenAI attributes known before the provider answers."""
    attributes = {"gen_ai.operation.name": OPERATIONS.get(record.endpoint, record.endpoint)}
    if provider_type:
        attributes["gen_ai.system"] = attributes["gen_ai.provider.name"] = SYSTEMS.get(provider_type, provider_type)
    if record.model:
        attributes["gen_ai.request.model"] = record.model
    return attributes


def call_attributes(record):
    """Everything the call's row knows once it has ended: usage, the model answering, why it stopped."""
    adapter = record.adapter
    attributes = genai_attributes(record, adapter.config.type if adapter is not None else None)
    attributes.update({"gen_ai.usage.input_tokens": record.input_tokens,
                       "gen_ai.usage.output_tokens": record.output_tokens,
                       "inference_gateway.request_id": record.public_id})
    if record.response_model:
        attributes["gen_ai.response.model"] = record.response_model
    if record.finish_reason:
        attributes["gen_ai.response.finish_reasons"] = [record.finish_reason]
    if record.provider_name:
        attributes["inference_gateway.provider"] = record.provider_name
    return attributes


def attempt_span(adapter, method, path, headers, attempt):
    """A client span for one upstream attempt: (headers with its traceparent, ended(status, error))."""
    tracer = current_app.extensions.get(TRACER) if has_request_context() else None
    if tracer is None:
        return headers, _ignore
    from opentelemetry import propagate, trace

    record = g.get("call_record")
    attributes = genai_attributes(record, adapter.config.type) if record is not None else {}
    attributes.update({"http.request.method": method, "server.address": adapter.base_url.split("/")[2],
                       "inference_gateway.attempt": attempt + 1})
    model = attributes.get("gen_ai.request.model")
    name = f"{attributes.get('gen_ai.operation.name', method)} {model or adapter.config.name}"
    span = tracer.start_span(name, kind=trace.SpanKind.CLIENT, attributes=attributes)
    headers = dict(headers)
    propagate.inject(headers, context=trace.set_span_in_context(span))

    def ended(status, error_type):
        if status is not None:
            span.set_attribute("http.response.status_code", status)
        if error_type:
            from opentelemetry.trace import Status, StatusCode

            span.set_attribute("error.type", error_type)
            span.set_status(Status(StatusCode.ERROR, error_type))
        span.end()

    return headers, ended


def _ignore(status, error_type):
    pass
