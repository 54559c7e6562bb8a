"""Routes: one model name served by several targets, in an order a strategy picks, moving on when a
target fails in a way another might not (README "Routing").

A routed call gets a RouteCall where a direct call gets a provider adapter: every surface calls
its chat/stream/embed... and never knows the difference. The strategies are pure functions of the
targets' weights, calls in flight and latencies; the breakers and the calls in flight live in
Redis with REDIS_URL (shared), else in this process."""
import json
import logging
import random
import statistics
import time
from collections import deque
from dataclasses import dataclass, field, replace

from inference_gateway import errors, events
from inference_gateway.gateway import breaker as breakers_
from inference_gateway.gateway import health
from inference_gateway.store import provider_store, request_log

log = logging.getLogger(__name__)

FALLBACK, WEIGHTED, LEAST_BUSY, LOWEST_LATENCY = "fallback", "weighted", "least-busy", "lowest-latency"
STRATEGIES = (FALLBACK, WEIGHTED, LEAST_BUSY, LOWEST_LATENCY)
# What a route may move on after (errors.GatewayError.retry_kind); never a 4xx or a content filter.
RETRY_KINDS = ("connection", "timeout", "429", "5xx")
LATENCY_SAMPLES = 50


# -- strategies: pure ---------------------------------------------------------------------------

def weighted_order(weights, rand=random.random):
    """Target indexes in a random order where each comes first with probability weight / total,
    and the rest follow by the same rule (Efraimidis-Spirakis keys u ** (1 / w)); weight 0 last."""
    keys = [(rand() ** (1.0 / w) if w > 0 else -1.0, -i) for i, w in enumerate(weights)]
    return [-i for _, i in sorted(keys, reverse=True)]


def least_busy_order(in_flight):
    """Fewest calls in flight first; ties keep the route's order."""
    return sorted(range(len(in_flight)), key=lambda i: (in_flight[i], i))


def lowest_latency_order(medians):
    """Targets without a measurement first (so each gets measured), then lowest median first."""
    return sorted(range(len(medians)), key=lambda i: (medians[i] is not None, medians[i] or 0.0, i))


def order(strategy, weights=(), in_flight=(), medians=(), rand=random.random):
    if strategy == WEIGHTED:
        return weighted_order(weights, rand)
    if strategy == LEAST_BUSY:
        return least_busy_order(in_flight)
    if strategy == LOWEST_LATENCY:
        return lowest_latency_order(medians)
    return list(range(max(len(weights), len(in_flight), len(medians))))


# -- what a route resolves to -------------------------------------------------------------------

@dataclass(frozen=True)
class Candidate:
    """A target resolved: the provider row and the model id to send it."""

    provider: object
    model: str
    weight: float = 1.0

    @property
    def key(self):
        return f"{self.provider.id}:{self.model}"


class Latencies:
    """Recent times to first token per target, this process's own routed attempts."""

    def __init__(self, size=LATENCY_SAMPLES):
        self.size, self._samples = size, {}

    def add(self, key, ms):
        samples = self._samples.get(key)
        if samples is None:
            samples = self._samples[key] = deque(maxlen=self.size)
        samples.append(ms)

    def median(self, key):
        samples = self._samples.get(key)
        return statistics.median(samples) if samples else None


class MemoryBusy:
    """Calls in flight per target, this process's (no REDIS_URL)."""

    shared = False

    def __init__(self):
        self._counts = {}

    def counts(self, keys):
        return [self._counts.get(k, 0) for k in keys]

    def start(self, key):
        self._counts[key] = self._counts.get(key, 0) + 1
        return key

    def end(self, token):
        left = self._counts.get(token, 1) - 1
        if left > 0:
            self._counts[token] = left
        else:
            self._counts.pop(token, None)


@dataclass
class Router:
    """A process's routing state and settings: one per app."""

    breakers: object
    busy: object
    settings: object  # ProviderSettings for targets: no retries of the adapter's own
    prices: object = None
    retry_after_max: float = 2.0
    latencies: Latencies = field(default_factory=Latencies)
    sleep: object = time.sleep
    rand: object = random.random


# -- a routed call ------------------------------------------------------------------------------

class ServedProvider:
    """The provider a routed call is being (or was) served by, for views that show its name."""

    def __init__(self, call):
        self._call = call

    def __getattr__(self, name):
        return getattr(self._call.provider, name)


def _resumed(buffered, chunks, done):
    """The stream as the client gets it: what was read before the first event, then the rest."""
    try:
        yield from buffered
        yield from chunks
    finally:
        try:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        finally:
            done()


class RouteCall:
    """A routed call, in place of a provider adapter: chat, stream, embed, images and transcribe try
    the route's targets in order. The call's record follows the attempt being made (provider,
    model, price), and notes the route, the attempts and the failed ones."""

    def __init__(self, router, record, route, candidates):
        self.router, self.record, self.route, self.candidates = router, record, route, candidates
        self.provider = candidates[0].provider
        self.adapter = None
        self._adapters = []
        self.failed = []
        self.attempts = 0
        # A failed attempt's health count waits for the next attempt: the last one is the call's row.
        self._pending = None
        self._billed_row = None
        record.route = route.name

    # -- the adapter's interface, as the call's frame uses it --
    @property
    def upstream_seconds(self):
        return sum(a.upstream_seconds for a in self._adapters)

    def close(self):
        for adapter in self._adapters:
            adapter.close()

    def scrub_error(self, exc):
        if self.adapter is not None:
            self.adapter.scrub_error(exc)

    def chat(self, req):
        return self._call("chat", req)

    def embed(self, req):
        return self._call("embed", req)

    def images(self, req):
        return self._call("images", req)

    def transcribe(self, req):
        return self._call("transcribe", req)

    # -- attempts --
    def _plan(self):
        """The candidates in the strategy's order, with the breakers' states read once."""
        router, route, candidates = self.router, self.route, self.candidates
        if route.strategy == LEAST_BUSY:
            ranked = order(LEAST_BUSY, in_flight=router.busy.counts([c.key for c in candidates]))
        elif route.strategy == LOWEST_LATENCY:
            ranked = order(LOWEST_LATENCY, medians=[router.latencies.median(c.key) for c in candidates])
        else:
            ranked = order(route.strategy, weights=[c.weight for c in candidates], rand=router.rand)
        ids = list(dict.fromkeys(c.provider.id for c in candidates))
        return [candidates[i] for i in ranked], router.breakers.read(ids)

    def _attempts(self):
        """Yield (candidate, its breaker state) for each target to try, skipping open breakers."""
        ranked, states = self._plan()
        now, skipped = time.time(), []
        for candidate in ranked:
            state = states[candidate.provider.id]
            seen = breakers_.verdict(state, now)
            if seen == breakers_.PROBE and not self.router.breakers.take_probe(candidate.provider.id, now):
                seen = breakers_.OPEN
            if seen == breakers_.OPEN:
                skipped.append(candidate)
                events.route_attempt.send(self.route.name, provider=candidate.provider.name, outcome="skipped")
                continue
            yield candidate, state
        if self.attempts == 0:
            until = self.router.breakers.open_until([c.provider.id for c in skipped])
            wait = max(1, int(min(until.values(), default=time.time() + 1) - time.time() + 0.999))
            names = ", ".join(dict.fromkeys(c.provider.name for c in skipped))
            # No provider was called: the row names the route only.
            record = self.record
            record.provider_id = record.provider_name = None
            record.model = self.route.name
            raise errors.ServiceUnavailable(
                f"every target of route '{self.route.name}' is skipped: the circuit breakers of {names} "
                f"are open after repeated failures; retry in {wait} s, or call a provider directly",
                headers={"Retry-After": str(wait)})

    def _begin(self, candidate):
        router, record = self.router, self.record
        self.attempts += 1
        if self._pending is not None:
            health.observe_attempt(*self._pending)
            self._pending = None
        if self.attempts > 1 and not self.failed[-1].get("retried"):
            events.route_fallback.send(self.route.name, provider=self.failed[-1]["provider"])
        self.provider = candidate.provider
        record.set_provider(candidate.provider, candidate.model)
        if router.prices is not None:
            record.price = router.prices.lookup(candidate.model, candidate.provider.type)
        self.adapter = provider_store.adapter_for(candidate.provider, router.settings)
        self._adapters.append(self.adapter)
        self._note()
        return self.adapter, time.perf_counter()

    def _note(self):
        self.record.attempts = self.attempts
        self.record.failed_attempts = json.dumps(self.failed, separators=(",", ":")) if self.failed else None

    def _served(self, candidate, state, started, first_ms=None):
        elapsed = (time.perf_counter() - started) * 1000.0
        self.router.latencies.add(candidate.key, first_ms if first_ms is not None else elapsed)
        if self.router.breakers.succeeded(candidate.provider.id, state):
            events.breaker_changed.send(candidate.provider.name, state=breakers_.CLOSED)
        events.route_attempt.send(self.route.name, provider=candidate.provider.name, outcome="success")

    def _failed(self, candidate, state, exc, started, retry):
        """Note a failed attempt; True to try again (the same target once on a short 429, else the
        next), False when the error is the call's answer."""
        kind = exc.retry_kind
        if kind is None:  # the provider answered (a 400, a refused key...): it is up
            if self.router.breakers.succeeded(candidate.provider.id, state):
                events.breaker_changed.send(candidate.provider.name, state=breakers_.CLOSED)
            return False
        events.route_attempt.send(self.route.name, provider=candidate.provider.name, outcome="failure")
        if self.router.breakers.failed(candidate.provider.id):
            events.breaker_changed.send(candidate.provider.name, state=breakers_.OPEN)
            log.warning("circuit breaker of provider %s opened (route %s): %s", candidate.provider.name,
                        self.route.name, exc.message)
        if kind not in self.route.retry_on:
            return False
        entry = {"provider": candidate.provider.name, "providerId": candidate.provider.id,
                 "model": candidate.model, "code": exc.code, "status": exc.upstream_status or exc.status}
        if self._billed_row is not None:  # its own row, counted by health as a call already
            entry["rowId"], self._billed_row = self._billed_row, None
        else:
            self._pending = (candidate.provider.id, (time.perf_counter() - started) * 1000.0,
                             health.error_text(exc.code, exc.message))
        delay = self._short_wait(exc) if retry == 0 and kind == "429" else None
        if delay is not None:
            entry["retried"] = True
        self.failed.append(entry)
        self._note()
        if delay is not None:
            self.router.sleep(delay)
        return True

    def _short_wait(self, exc):
        """Seconds to wait before one more try of a rate-limited target, None when its wait is long."""
        wait = getattr(exc, "retry_after", None)
        wait = 0.2 if wait is None else wait
        return wait if wait <= self.router.retry_after_max else None

    def _run(self, attempt):
        """attempt(candidate, state, adapter, started) on each target in turn until one answers (its
        result) or a failure is the call's answer (raised); the last target's failure is raised."""
        last = None
        for candidate, state in self._attempts():
            for retry in (0, 1):
                adapter, started = self._begin(candidate)
                try:
                    return attempt(candidate, state, adapter, started)
                except errors.GatewayError as exc:
                    if not self._failed(candidate, state, exc, started, retry):
                        raise
                    last = exc
                    if not self.failed[-1].get("retried"):
                        break
        raise last

    def _call(self, op, req):
        def attempt(candidate, state, adapter, started):
            with _in_flight(self.router.busy, candidate, self.route.strategy):
                result = getattr(adapter, op)(replace(req, model=candidate.model))
            self._served(candidate, state, started)
            return result
        return self._run(attempt)

    def stream(self, req):
        """Reach a target whose stream produces its first event (text or a tool call) or ends; until
        then nothing has reached the client, so a failure moves on. A stream that failed after the
        provider reported usage (billed upstream) gets a row of its own."""
        def attempt(candidate, state, adapter, started):
            token = self.router.busy.start(candidate.key) if self.route.strategy == LEAST_BUSY else None
            chunks, buffered = None, []
            try:
                chunks = adapter.stream(replace(req, model=candidate.model))
                for chunk in chunks:
                    buffered.append(chunk)
                    if chunk.text or chunk.tool_calls:
                        break
            except errors.GatewayError as exc:
                self._abandon(adapter, chunks, token)
                self._billed(candidate, buffered, exc)
                raise
            except BaseException:
                self._abandon(adapter, chunks, token)
                raise
            self._served(candidate, state, started, (time.perf_counter() - started) * 1000.0)
            done = (lambda: self.router.busy.end(token)) if token is not None else _nothing
            return _resumed(buffered, chunks, done)
        return self._run(attempt)

    def _abandon(self, adapter, chunks, token):
        try:
            if chunks is not None and hasattr(chunks, "close"):
                chunks.close()
            adapter.close()
        except Exception:
            log.debug("closing an abandoned attempt failed", exc_info=True)
        if token is not None:
            self.router.busy.end(token)

    def _billed(self, candidate, buffered, exc):
        """A stream that failed after its provider reported usage: that attempt was billed, so it is
        a row of its own (the key's spend settles it with the call)."""
        usage = next((c.usage for c in reversed(buffered) if c.usage is not None), None)
        if usage is None or not (usage.input_tokens or usage.output_tokens):
            return
        record = self.record
        row = request_log.CallRecord(endpoint=record.endpoint, provider_id=candidate.provider.id,
                                     provider_name=candidate.provider.name, model=candidate.model,
                                     stream=True, key_id=record.key_id, price=record.price)
        row.route, row.attempts = self.route.name, self.attempts
        row.set_usage(usage)
        row.fail(exc)
        request_log.write(row)
        record.billed_elsewhere_tokens += usage.input_tokens + usage.output_tokens
        record.billed_elsewhere_usd += row.cost_usd or 0.0
        self._billed_row = row.id


def _nothing():
    return None


class _in_flight:
    """Count a least-busy route's call in flight around an attempt."""

    __slots__ = ("busy", "key", "token")

    def __init__(self, busy, candidate, strategy):
        self.busy, self.key, self.token = busy, candidate.key if strategy == LEAST_BUSY else None, None

    def __enter__(self):
        if self.key is not None:
            self.token = self.busy.start(self.key)

    def __exit__(self, *exc):
        if self.token is not None:
            self.busy.end(self.token)


def open_route(router, record, route, cache, resolve, key=None):
    """The route's usable candidates for this call (targets resolved; with a virtual key, the route
    name must be on its model list and targets outside its providers are skipped) and the RouteCall."""
    candidates, problems = [], []
    for target in route.targets:
        try:
            provider, model = resolve(target.model, target.provider_ref, cache, routes=False)
        except errors.GatewayError as exc:
            problems.append(f"{target.model}: {exc.message}")
            continue
        candidates.append(Candidate(provider, model, target.weight))
    if key is not None:
        from inference_gateway.gateway.admission import check_route_allowed
        candidates = check_route_allowed(key, route.name, candidates)
    if not candidates:
        raise errors.NoProvider(f"no target of route '{route.name}' resolves to a provider: " + "; ".join(problems))
    return RouteCall(router, record, route, candidates)



def check_targets(targets):
    """400 naming each target of a route being saved that resolves to no provider now."""
    from inference_gateway.gateway.resolve import resolve

    problems = {}
    for i, target in enumerate(targets):
        try:
            resolve(target["model"], target.get("provider_id"), routes=False)
        except errors.GatewayError as exc:
            problems[f"targets.{i}"] = [exc.message]
    if problems:
        raise errors.BadRequest(errors.validation_message(problems), details=problems)
