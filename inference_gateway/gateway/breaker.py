"""Circuit breakers per provider, for routes: after BREAKER_FAILURES consecutive failures of the
provider's own (connection, timeout, 429, 5xx) its breaker opens and routes skip it for
BREAKER_COOLDOWN seconds; then one call (the probe) is let through, and its outcome closes the
breaker or opens it again. A direct call (no route) is never stopped by a breaker.

The transitions are pure functions of a State; two stores keep the states: Redis (store/route_counters.py,
shared by every worker and instance) with REDIS_URL, else this process's memory (MemoryBreakers)."""
import time
from dataclasses import replace

from inference_gateway.store.route_counters import State

CLOSED, OPEN, PROBE = "closed", "open", "probe"
# Breaker states as the gateway_breaker_state gauge shows them.
GAUGE = {CLOSED: 0, PROBE: 1, OPEN: 2}


def verdict(state, now):
    """CLOSED: usable. OPEN: skip. PROBE: the cooldown is over and nobody is probing: whoever takes
    the probe (take_probe) may call it."""
    if state.open_until == 0.0:
        return CLOSED
    if now < state.open_until or now < state.probe_until:
        return OPEN
    return PROBE


def after_failure(state, now, limit, cooldown):
    """The state after a failure: open (again) when the limit is reached or the probe failed."""
    if state.open_until and now >= state.open_until:  # the probe (or a call let through since) failed
        return State(0, now + cooldown, 0.0)
    if state.open_until:  # already open: a call that started before it opened
        return state
    failures = state.failures + 1
    return State(0, now + cooldown, 0.0) if failures >= limit else replace(state, failures=failures)


def after_probe_taken(state, now, cooldown):
    """The probe's lease: if its call never reports, another may probe after a further cooldown."""
    return replace(state, probe_until=now + cooldown)


class MemoryBreakers:
    """The breakers of this process only (no REDIS_URL): each worker opens its own after its own
    failures. `on_open(provider_id, until or None)` hears each opening and closing (health writes it
    where every process's GET /providers reads it)."""

    shared = False

    def __init__(self, failures=5, cooldown=30.0, clock=time.time, on_open=None):
        self.limit, self.cooldown, self.clock, self.on_open = failures, cooldown, clock, on_open
        self._states = {}

    def read(self, provider_ids, now=None):
        """{provider id: State} (verdict() says what it means now)."""
        empty = State()
        return {pid: self._states.get(pid, empty) for pid in provider_ids}

    def take_probe(self, provider_id, now=None):
        now = self.clock() if now is None else now
        state = self._states.get(provider_id, State())
        if verdict(state, now) != PROBE:
            return False
        self._states[provider_id] = after_probe_taken(state, now, self.cooldown)
        return True

    def failed(self, provider_id, now=None):
        """Count a failure; True when it opened the breaker."""
        now = self.clock() if now is None else now
        before = self._states.get(provider_id, State())
        after = self._states[provider_id] = after_failure(before, now, self.limit, self.cooldown)
        opened = after.open_until != before.open_until
        if opened and self.on_open is not None:
            self.on_open(provider_id, after.open_until)
        return opened

    def succeeded(self, provider_id, state=None):
        """The provider answered: close its breaker (`state`, as read before the call, lets a
        shared store skip the write when there is nothing to reset)."""
        before = self._states.pop(provider_id, None)
        closed = before is not None and bool(before.open_until)
        if closed and self.on_open is not None:
            self.on_open(provider_id, None)
        return closed

    def open_until(self, provider_ids, now=None):
        now = self.clock() if now is None else now
        return {pid: self._states[pid].open_until for pid in provider_ids
                if pid in self._states and self._states[pid].open_until > now}
