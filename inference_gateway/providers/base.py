"""The provider interface, and the HTTP behaviour every adapter shares (auth, retries, error mapping)."""
import functools
import itertools
import json
import logging
import os
import time
from dataclasses import dataclass
from typing import Optional

import requests
import urllib3

from inference_gateway import errors, fast_json
from inference_gateway.errors import UpstreamFailure
from inference_gateway.config import key_var_allowed
from inference_gateway.providers.fast_http import send
from inference_gateway.providers.http import (HOPS_HEADER, HttpSettings, backoff_delay, get_session, outbound_hops,
                                              parse_retry_after)
from inference_gateway.providers.json_items import ArrayItems
from inference_gateway.providers.sse import EventTooLarge, SSEParser, is_final

log = logging.getLogger(__name__)

RETRYABLE_STATUS = {500, 502, 503, 504, 529}
# After a stream's last event, read on to the end of the body so urllib3 pools the connection: at
# most this many more reads (OpenCode Zen sends a cost event after [DONE]), each within this long.
DRAIN_READS = 16
# The most read from a stream at once, so no limit is checked only after a provider's 100 MB.
STREAM_READ_BYTES = 64 * 1024


def read_as_it_comes(resp):
    """The pieces of a streamed body as they arrive, each at most STREAM_READ_BYTES. Without a size
    urllib3 reads each HTTP chunk whole, and a body without chunks (Content-Length, or until the
    connection closes) to its very end: every event held back, all of it in memory. With a size,
    chunks up to it (every provider's events) still come one read each; a body without chunks is
    read with read1, which returns what has arrived instead of waiting for the size."""
    if resp.raw.chunked:
        return resp.iter_content(chunk_size=STREAM_READ_BYTES)
    return iter(functools.partial(resp.raw.read1, STREAM_READ_BYTES, decode_content=True), b"")
DRAIN_SECONDS = 1.0


def provider_fault(exc, kind):
    """Mark an error as the provider's own failure (errors.GatewayError.retry_kind)."""
    exc.retry_kind = kind
    return exc


@dataclass
class ProviderSettings:
    http: HttpSettings
    # Anthropic requires max_tokens; this applies when the caller gives none.
    anthropic_default_max_tokens: int = 4096
    # PROVIDER_KEY_VARS: the globs a provider's envVar must match for its value to be sent.
    key_vars: tuple = ("*_API_KEY",)


class Provider:
    """One registered provider. Instances are per call: cheap, and they carry per-call timing."""

    type: str = ""
    label: str = ""
    default_base_url: Optional[str] = None
    key_required = True
    # Set by web/tracing.py when traces are on: (adapter, method, path, headers, attempt) ->
    # (headers to send, with traceparent; ended(status, error_type)). None costs one check.
    trace_attempt = None

    def __init__(self, config, settings: ProviderSettings):
        self.config = config
        self.settings = settings
        self.base_url = (config.base_url or self.default_base_url or "").rstrip("/")
        # Seconds spent waiting on the upstream during this call (for the overhead metric).
        self.upstream_seconds = 0.0
        # Streamed responses still open; close() releases them even if nobody iterated them.
        self._open_streams = []
        # The key this call sent, redacted from any upstream text the call passes on.
        self._secret = None

    # -- operations; adapters override what they support ---------------------------------------
    def list_models(self):
        """The upstream's models (ModelInfo) one by one as its listing is read: a generator, which
        the caller may stop early."""
        raise errors.unsupported(self.config.name, "model listing")

    def chat(self, req):
        raise errors.unsupported(self.config.name, "chat")

    def stream(self, req):
        raise errors.unsupported(self.config.name, "streaming chat")

    def embed(self, req):
        raise errors.unsupported(self.config.name, "embeddings")

    def images(self, req):
        raise errors.unsupported(self.config.name, "image generation")

    def transcribe(self, req):
        raise errors.unsupported(self.config.name, "transcription")

    # -- what adapters provide for the shared HTTP path ----------------------------------------
    def auth_headers(self, key) -> dict:
        return {}

    def parse_error(self, status, body, headers) -> UpstreamFailure:
        """Turn an error reply into a message; `body` is the decoded JSON or None."""
        message = None
        if isinstance(body, dict):
            err = body.get("error")
            if isinstance(err, dict):
                message = err.get("message")
            elif isinstance(err, str):
                message = err
            message = message or body.get("message")
        return UpstreamFailure(message or f"HTTP {status}")

    # -- shared behaviour ----------------------------------------------------------------------
    def api_key(self):
        """The key, read from the provider's environment variable now (never stored)."""
        env_var = self.config.env_var
        if env_var and not key_var_allowed(env_var, self.settings.key_vars):
            # Stored before PROVIDER_KEY_VARS changed (or written to the database directly).
            raise errors.ProviderNotConfigured(
                f"provider '{self.config.name}' names envVar {env_var}, which PROVIDER_KEY_VARS "
                f"({', '.join(self.settings.key_vars)}) does not allow; an admin must point the "
                "provider at an allowed variable")
        if not env_var:
            if self.key_required:
                raise errors.ProviderNotConfigured(
                    f"provider '{self.config.name}' has no envVar naming the environment variable "
                    "that holds its API key")
            return None
        key = os.environ.get(env_var)
        if not key:
            if self.key_required:
                raise errors.ProviderNotConfigured(
                    f"provider '{self.config.name}' needs its API key in the environment variable "
                    f"{env_var}, which is not set on the gateway")
            return None
        self._secret = key
        return key

    def scrub(self, text):
        """Upstream text with this call's key redacted, capped (errors.clean)."""
        return errors.clean(text, self._secret)

    def scrub_error(self, exc):
        """Redact this call's key from an error raised while reading its upstream (mid-stream)."""
        exc.message = self.scrub(exc.message)
        exc.args = (exc.message,)

    def url(self, path):
        return self.base_url + path

    def request(self, method, path, *, json_body=None, data=None, files=None, params=None,
                headers=None, stream=False, auth=True, key=None):
        """Send a request with retries; return a 2xx response or raise a GatewayError.

        With `stream=True` the body is left unread: retries only happen before anything is
        forwarded to the client, because the caller starts reading only after this returns."""
        http = self.settings.http
        all_headers = {}
        if auth:
            if key is not None:
                self._secret = key
            all_headers.update(self.auth_headers(key if key is not None else self.api_key()))
        all_headers.update(headers or {})
        all_headers[HOPS_HEADER] = outbound_hops()
        session = get_session(http.pool_size)
        attempt = 0
        while True:
            started = time.perf_counter()
            try:
                resp = self._send(
                    session, method, path, all_headers, attempt, json_body=json_body, data=data,
                    files=files, params=params, stream=stream,
                    timeout=(http.connect_timeout, http.stream_idle_timeout if stream else http.read_timeout))
            except requests.exceptions.Timeout as exc:
                self.upstream_seconds += time.perf_counter() - started
                if isinstance(exc, requests.exceptions.ConnectTimeout) and attempt < http.max_retries:
                    self._sleep(backoff_delay(attempt, http))
                    attempt += 1
                    continue
                raise provider_fault(errors.UpstreamTimeout(
                    f"provider '{self.config.name}' did not answer in time"), "timeout") from exc
            except requests.exceptions.RequestException as exc:
                self.upstream_seconds += time.perf_counter() - started
                if attempt < http.max_retries:
                    self._sleep(backoff_delay(attempt, http))
                    attempt += 1
                    continue
                raise provider_fault(errors.UpstreamError(
                    f"could not reach provider '{self.config.name}' at {errors.mask_url(self.base_url)}"
                ), "connection") from exc
            if resp.status_code < 400:
                self.upstream_seconds += time.perf_counter() - started  # a stream's: to its headers
                if stream:
                    self._check_event_stream(resp)
                    self._open_streams.append(resp)
                return resp
            if resp.status_code == 508:
                # A gateway down the line refused a loop: retrying would only loop again.
                resp.close()
                self.upstream_seconds += time.perf_counter() - started
                raise errors.LoopDetected(
                    f"provider '{self.config.name}' ({errors.mask_url(self.base_url)}) answered 508: "
                    "the request came back to a gateway it had passed (loop detected); check the "
                    "provider's baseUrl")
            failure = self._failure(resp)
            self.upstream_seconds += time.perf_counter() - started
            delay = self._retry_delay(resp.status_code, failure, attempt)
            if delay is None:
                exc = self._map_failure(resp.status_code, failure)
                exc.upstream_status = resp.status_code
                if resp.status_code == 429:
                    exc.retry_kind = "429"
                elif resp.status_code >= 500:
                    exc.retry_kind = "5xx"
                raise exc
            self._sleep(delay)
            attempt += 1

    def _send(self, session, method, path, headers, attempt, **kwargs):
        """One attempt, inside a span of its own when traces are on (`trace_attempt`)."""
        if self.trace_attempt is None:
            return send(session, method, self.url(path), headers=headers, **kwargs)
        headers, ended = self.trace_attempt(self, method, path, headers, attempt)
        try:
            resp = send(session, method, self.url(path), headers=headers, **kwargs)
        except Exception as exc:
            ended(None, type(exc).__name__)
            raise
        ended(resp.status_code, str(resp.status_code) if resp.status_code >= 400 else None)
        return resp

    def _check_event_stream(self, resp):
        """A JSON reply to a stream request (a proxy or server that ignored `stream`) fails here,
        before the client is sent any event, instead of as an empty stream cut short."""
        content_type = resp.headers.get("Content-Type", "")
        if "json" in content_type.split(";")[0]:
            resp.close()
            raise errors.UpstreamError(
                f"provider '{self.config.name}' answered a stream request with {content_type}, "
                "not an event stream; check its baseUrl and that it supports streaming")

    def close(self):
        """Close every upstream stream this call opened (client gone, cancel, or done)."""
        while self._open_streams:
            self._open_streams.pop().close()

    def request_json(self, method, path, **kwargs):
        """`request` and decode the JSON reply (malformed JSON is a 502)."""
        resp = self.request(method, path, **kwargs)
        started = time.perf_counter()
        try:
            return self.decode_json(self.read_body(resp))
        except requests.exceptions.RequestException as exc:
            raise self._broken_reply() from exc
        finally:
            self.upstream_seconds += time.perf_counter() - started
            resp.close()

    def read_body(self, resp):
        """The reply's body, at most UPSTREAM_MAX_REPLY_BYTES (decoded) or a 502: a reply is held
        whole in memory, so its size must not be the provider's choice."""
        length = resp.headers.get("Content-Length", "")
        fits = length.isdigit() and int(length) <= self.settings.http.max_reply_bytes
        if fits and "Content-Encoding" not in resp.headers:
            return resp.content  # urllib3 reads no more than Content-Length
        return b"".join(self.reply_pieces(resp))

    def reply_pieces(self, resp):
        """The reply's body as it is read, at most UPSTREAM_MAX_REPLY_BYTES in all (decoded) or a 502."""
        limit = self.settings.http.max_reply_bytes
        length = resp.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > limit:
            raise self._too_large(f"a reply of {int(length):,} bytes")
        read = 0
        for piece in resp.iter_content(64 * 1024):
            read += len(piece)
            if read > limit:
                raise self._too_large("a reply")
            yield piece

    def request_items(self, path, array, parse, scalars=(), **kwargs):
        """GET a JSON listing and yield `parse(item)` for each item of its top-level `array` as it is
        read (None is left out): a caller that stops early (model sync past MAX_SYNCED_MODELS) has
        held no more than a piece of the reply, and nothing more is read. Returns {name: value} of
        the top-level `scalars` present (paging). The same bounds and errors as request_json."""
        resp = self.request("GET", path, **kwargs)
        parser, clock = ArrayItems(array, parse, scalars), time.perf_counter
        try:
            waited = clock()
            for piece in self.reply_pieces(resp):
                self.upstream_seconds += clock() - waited
                yield from parser.feed(piece)
                waited = clock()
            items, found = parser.close()
            yield from items
            return found
        except ValueError as exc:
            raise self._not_json() from exc
        except requests.exceptions.RequestException as exc:
            raise self._broken_reply() from exc
        finally:
            resp.close()

    def _too_large(self, what, limit_name="UPSTREAM_MAX_REPLY_BYTES"):
        limit = (self.settings.http.max_reply_bytes if limit_name == "UPSTREAM_MAX_REPLY_BYTES"
                 else self.settings.http.max_line_bytes)
        return errors.UpstreamError(f"provider '{self.config.name}' sent {what} over the gateway's limit of "
                                    f"{limit:,} bytes ({limit_name})")

    def _broken_reply(self):
        return provider_fault(errors.UpstreamError(
            f"the connection to provider '{self.config.name}' broke before its reply ended"), "connection")

    def _not_json(self):
        return errors.UpstreamError(f"provider '{self.config.name}' sent a reply that is not valid JSON")

    def decode_json(self, raw):
        try:
            return fast_json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise self._not_json() from exc

    def stream_events(self, resp):
        """SSE events of a streamed response; transport failures become GatewayErrors.

        Closing this generator (client gone, cancel) closes the upstream connection at once. The
        parsers stop reading at the last event (`[DONE]`, `message_stop`), which leaves the
        chunked terminator unread, and urllib3 drops a connection closed mid-body: every stream
        then paid a new TCP and TLS handshake. So when the last event read was a final one, the
        rest of the body is read first (bounded) and the connection goes back to the pool."""
        http, clock = self.settings.http, time.perf_counter
        parser, last = SSEParser(http.max_line_bytes), None
        body = read_as_it_comes(resp)
        idle = http.stream_idle_timeout
        try:
            # Upstream time is the time spent waiting on a read, not the time the events spend
            # going out to the client, so a stream's overhead is its own work.
            waited = event_at = clock()
            for chunk in body:
                now = clock()
                self.upstream_seconds += now - waited
                for last in parser.feed(chunk):
                    event_at = now
                    yield last
                if now - event_at > idle:  # bytes trickle in, but no event completes
                    raise requests.exceptions.ReadTimeout()
                waited = clock()
            for last in parser.finish():
                yield last
        except EventTooLarge:
            raise self._too_large("an event stream line or event", "UPSTREAM_MAX_LINE_BYTES") from None
        except GeneratorExit:
            if last is not None and is_final(last):
                self._drain(resp, body)
            raise
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError) as exc:
            # requests reports a read timeout while streaming as a ConnectionError around urllib3's;
            # read1 (a body without chunks) raises urllib3's own.
            if isinstance(exc, (requests.exceptions.Timeout, urllib3.exceptions.ReadTimeoutError)) or isinstance(
                    exc.args[0] if exc.args else None, urllib3.exceptions.ReadTimeoutError):
                raise provider_fault(errors.UpstreamTimeout(
                    f"provider '{self.config.name}' sent no event for {idle:g} s mid-stream "
                    "(STREAM_IDLE_TIMEOUT)"), "timeout") from exc
            raise provider_fault(errors.UpstreamError(
                f"the connection to provider '{self.config.name}' broke mid-stream"), "connection") from exc
        finally:
            resp.close()

    def _drain(self, resp, body):
        sock = getattr(getattr(getattr(resp, "raw", None), "connection", None), "sock", None)
        try:
            if sock is not None:
                # urllib3 sets the socket's timeout again before the connection's next request.
                sock.settimeout(DRAIN_SECONDS)
            for _ in itertools.islice(body, DRAIN_READS):
                pass
        except (requests.exceptions.RequestException, OSError):
            log.debug("reading a finished stream to its end failed; the connection is not reused",
                      exc_info=True)

    # -- internals -----------------------------------------------------------------------------
    def _failure(self, resp):
        try:
            raw = self.read_body(resp)
        except (requests.exceptions.RequestException, errors.UpstreamError):  # unreadable or too large
            raw = b""
        finally:
            resp.close()
        try:
            body = json.loads(raw) if raw else None
        except (ValueError, UnicodeDecodeError):
            body = None
        failure = self.parse_error(resp.status_code, body, resp.headers)
        if failure.retry_after is None:
            failure.retry_after = parse_retry_after(resp.headers)
        return failure

    def _retry_delay(self, status, failure, attempt):
        """Seconds to wait before retrying, or None when this reply must not be retried."""
        http = self.settings.http
        retryable = failure.retryable
        if retryable is None:
            retryable = status == 429 or status in RETRYABLE_STATUS
        if not retryable or attempt >= http.max_retries:
            return None
        if failure.retry_after is not None:
            if failure.retry_after > http.retry_after_max:
                return None
            return failure.retry_after
        return backoff_delay(attempt, http)

    def _map_failure(self, status, failure):
        name, message = self.config.name, self.scrub(failure.message)
        if status in (401, 403):
            env = self.config.env_var or "its envVar"
            return errors.UpstreamError(
                f"provider '{name}' refused the API key in {env} ({status}: {message})", status=502)
        if status == 429 and failure.retryable is False:
            # e.g. OpenAI's insufficient_quota: a billing problem that waiting will not fix.
            return errors.UpstreamError(
                f"provider '{name}' refused the request and says retrying will not help: {message}",
                status=502)
        if status == 429:
            return errors.RateLimited(
                f"provider '{name}' is rate limiting requests: {message}",
                retry_after=failure.retry_after)
        if status >= 500:
            return errors.UpstreamError(f"provider '{name}' failed ({status}): {message}", status=502)
        return errors.UpstreamError(f"provider '{name}' rejected the request: {message}", status=400)

    def _sleep(self, seconds):
        if seconds > 0:
            time.sleep(seconds)
