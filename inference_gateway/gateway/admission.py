"""What a virtual key may do, enforced once per call whatever the surface: its model and provider
lists, then a reservation against its limits (requests, tokens, calls in flight, budget), settled
with the call's actual tokens and cost when its row is written.

Every surface reaches this through gateway.calls.open_adapter; a refusal is a GatewayError with
status, code and headers (Retry-After, x-ratelimit-*), which each surface renders in its format."""
import logging
import math
from dataclasses import fields, is_dataclass
from fnmatch import fnmatchcase

from inference_gateway import errors
from inference_gateway.gateway.keys import describe_list
from inference_gateway.gateway.pricing import cost
from inference_gateway.store.limit_counters import (BUDGET, CONCURRENCY, NANO, RPM, TPM, Refused,
                                                    StoreUnavailable)
from inference_gateway.store.request_log import SUCCESS

log = logging.getLogger(__name__)

CHAT_ENDPOINTS = ("chat", "chat_stream", "chat_ws")
# Fields holding media rather than text: they are not counted as input tokens.
MEDIA_FIELDS = {"data", "url", "image_url", "b64_json", "audio", "input_audio", "file_data"}
MAX_TOKEN_FIELDS = ("max_tokens", "max_completion_tokens", "maxTokens", "max_output_tokens")
# Per request: roles, message framing, a system prompt's wrapper.
OVERHEAD_TOKENS = 16


def text_bytes(value):
    """UTF-8 bytes of the text in a request body (dicts, lists, dataclasses). A token is at least
    one byte of text, so this never undercounts a call's input tokens."""
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogatepass"))
    if isinstance(value, dict):
        return sum(text_bytes(v) for k, v in value.items() if k not in MEDIA_FIELDS)
    if isinstance(value, (list, tuple)):
        return sum(text_bytes(v) for v in value)
    if is_dataclass(value) and not isinstance(value, type):
        return sum(text_bytes(getattr(value, f.name)) for f in fields(value) if f.name not in MEDIA_FIELDS)
    return 0


def estimate(endpoint, data, default_output):
    """(input, output) tokens to reserve: input from the body's text, output from its maxTokens, or
    `default_output` for a chat call that gives none (0 for other endpoints)."""
    if isinstance(data, dict):  # native bodies (loaded) or the compatible APIs' raw ones
        max_tokens = next((data[k] for k in MAX_TOKEN_FIELDS if isinstance(data.get(k), int)), None)
    else:
        max_tokens = getattr(data, "max_tokens", None)
    output = (max_tokens or default_output) if endpoint in CHAT_ENDPOINTS else 0
    return text_bytes(data) + OVERHEAD_TOKENS, output


def provider_allowed(key, provider):
    return key.providers is None or provider.id.lower() in key.providers or provider.name.lower() in key.providers


def model_allowed(key, provider, model, requested=None):
    """The model matches one of the key's patterns, as named, as resolved or as `provider/model`."""
    if key.models is None:
        return True
    names = {model, requested or model, f"{provider.name}/{model}"}
    return any(fnmatchcase(name, pattern) for pattern in key.models for name in names)


def check_allowed(key, provider, model, requested):
    """403 FORBIDDEN when the model or provider is outside the key's lists, naming what is allowed."""
    if not provider_allowed(key, provider):
        raise errors.Forbidden(f"key '{key.name}' may not use provider '{provider.name}'; "
                               f"allowed providers: {describe_list(key.providers)}")
    if not model_allowed(key, provider, model, requested):
        raise errors.Forbidden(f"key '{key.name}' may not use model '{requested or model}'; "
                               f"allowed models: {describe_list(key.models)}")


def route_allowed(key, route_name):
    """A route's name against the key's model list (its targets' models are the admin's choice)."""
    return key.models is None or any(fnmatchcase(route_name, pattern) for pattern in key.models)


def check_route_allowed(key, route_name, candidates):
    """A key's lists over a route: the route's name must be on its model list; targets outside its
    provider list are skipped. The candidates left, or 403 FORBIDDEN when the name is refused or no
    target is left."""
    if not route_allowed(key, route_name):
        raise errors.Forbidden(f"key '{key.name}' may not use model '{route_name}'; "
                               f"allowed models: {describe_list(key.models)}")
    left = [c for c in candidates if provider_allowed(key, c.provider)]
    if not left:
        raise errors.Forbidden(f"key '{key.name}' may use none of the providers of route '{route_name}'; "
                               f"allowed providers: {describe_list(key.providers)}")
    return left


def duration(seconds):
    """OpenAI's form for x-ratelimit-reset-*: '0s', '250ms', '12s', '1m0s'."""
    if seconds < 1:
        return f"{int(seconds * 1000)}ms" if seconds > 0 else "0s"
    whole = int(math.ceil(seconds))
    minutes, rest = divmod(whole, 60)
    return f"{minutes}m{rest}s" if minutes else f"{rest}s"


def ratelimit_headers(window):
    """OpenAI's x-ratelimit-* headers for the limits a key has (requests and/or tokens)."""
    headers = {}
    if window.limit_requests is not None:
        headers["x-ratelimit-limit-requests"] = str(window.limit_requests)
        headers["x-ratelimit-remaining-requests"] = str(window.remaining_requests)
        headers["x-ratelimit-reset-requests"] = duration(window.reset_requests)
    if window.limit_tokens is not None:
        headers["x-ratelimit-limit-tokens"] = str(window.limit_tokens)
        headers["x-ratelimit-remaining-tokens"] = str(window.remaining_tokens)
        headers["x-ratelimit-reset-tokens"] = duration(window.reset_tokens)
    return headers


def refusal(refused, key, tokens):
    headers = ratelimit_headers(refused.window)
    if refused.limit == BUDGET:
        period = key.limits.budget_period
        spent = "this period's" if period != "total" else "its"
        return errors.BudgetExceeded(
            f"key '{key.name}' has used {spent} budget of ${key.limits.budget_nano / NANO:g}"
            f"{'' if period == 'total' else ' per ' + period}", headers=headers)
    what = {RPM: f"{key.limits.rpm} requests per minute",
            TPM: f"{key.limits.tpm} tokens per minute (this call reserves {tokens})",
            CONCURRENCY: f"{key.limits.max_concurrent} calls at once"}[refused.limit]
    return errors.RateLimited(f"key '{key.name}' is limited to {what}; retry after the Retry-After seconds",
                              retry_after=max(refused.retry_after, 1.0), headers=headers)


class Gate:
    """The limits of virtual keys on one app: its counters (Redis or the database) and settings."""

    def __init__(self, counters, fail_open=False, default_output_tokens=1024, store_name="REDIS_URL"):
        self.counters, self.fail_open = counters, fail_open
        self.default_output_tokens, self.store_name = default_output_tokens, store_name

    def admit(self, record, key, provider, model, requested, data, lists=True):
        """Check the key's lists (unless a route checked them: `lists=False`) and reserve against its
        limits; the reservation is settled when the call's row is written (record.on_finish)."""
        record.key_id = key.id
        if lists:
            check_allowed(key, provider, model, requested)
        limits = key.limits
        if not limits.any:
            return None
        tokens_in, tokens_out = estimate(record.endpoint, data or {}, self.default_output_tokens)
        cost_nano = 0
        if limits.budget_nano is not None:
            if record.price is None:
                raise errors.BudgetExceeded(
                    f"model '{model}' has no price, and key '{key.name}' has a budget: its spend could not "
                    "be counted. Add the model to PRICES_FILE (USD per million tokens) or use a priced model "
                    "(GET /api/v1/inference/prices?model= shows what applies)")
            rates = record.price.rates(tokens_in)
            cost_nano = int(math.ceil(cost(rates, tokens_in, tokens_out) * NANO))
        try:
            reservation = self.counters.reserve(key.id, limits, tokens_in + tokens_out, cost_nano)
        except Refused as refused:
            raise refusal(refused, key, tokens_in + tokens_out) from None
        except StoreUnavailable as exc:
            if self.fail_open:
                log.warning("limits not enforced for key %s: %s is unreachable (%s); LIMITS_FAIL_OPEN=true "
                            "lets the call through", key.id, self.store_name, exc)
                return None
            raise errors.ServiceUnavailable(
                f"the limits store ({self.store_name}) is not reachable, so key limits cannot be checked; "
                f"check {self.store_name} and that Redis is up, or set LIMITS_FAIL_OPEN=true to let calls "
                "through unlimited while it is down") from None
        record.limits_window = reservation.window
        record.on_finish = lambda finished: self.settle(reservation, finished)
        return reservation

    def settle(self, reservation, record):
        tokens = record.input_tokens + record.output_tokens + record.billed_elsewhere_tokens
        if record.cost_usd is not None:
            cost_nano = int(math.ceil((record.cost_usd + record.billed_elsewhere_usd) * NANO))
        else:
            # Succeeded without a token count to price (an image): the reserved estimate is charged.
            cost_nano = reservation.cost_nano if record.status == SUCCESS else 0
        try:
            self.counters.settle(reservation, tokens, cost_nano)
        except StoreUnavailable as exc:
            log.error("could not settle call %s of key %s (%s unreachable: %s); its reservation lapses "
                      "with its lease", record.id, reservation.key_id, self.store_name, exc)
