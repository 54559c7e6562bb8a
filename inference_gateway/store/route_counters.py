"""Routes' shared state in Redis (REDIS_URL), under the limits' key prefix: circuit breakers, one hash
per provider, so every worker and instance skips, probes and closes a provider together; and
least-busy routes' calls in flight per target. The transitions are
gateway/breaker.py's, the failure and the probe each one Lua script (atomic across instances)."""
import logging
import os
import time
from dataclasses import dataclass

log = logging.getLogger(__name__)

# KEYS[1]: the provider's hash {f: failures, o: open until, p: probe until}. ARGV: now, failure limit,
# cooldown, key ttl. Returns 1 when this failure opened the breaker (gateway/breaker.after_failure).
FAIL = """
local now, limit, cooldown, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local v = redis.call('HMGET', KEYS[1], 'f', 'o')
local f, o = tonumber(v[1] or '0'), tonumber(v[2] or '0')
if o > 0 and now < o then return 0 end
if o == 0 then f = f + 1 end
if o > 0 or f >= limit then
  redis.call('HSET', KEYS[1], 'f', 0, 'o', now + cooldown, 'p', 0)
  redis.call('EXPIRE', KEYS[1], ttl)
  return 1
end
redis.call('HSET', KEYS[1], 'f', f)
redis.call('EXPIRE', KEYS[1], ttl)
return 0
"""
# KEYS[1] as above. ARGV: now, cooldown. 1 when the caller may probe (and holds the probe until
# now + cooldown), 0 when the breaker is closed, still open or another caller is probing.
PROBE = """
local now, cooldown = tonumber(ARGV[1]), tonumber(ARGV[2])
local v = redis.call('HMGET', KEYS[1], 'o', 'p')
local o, p = tonumber(v[1] or '0'), tonumber(v[2] or '0')
if o == 0 or now < o or now < p then return 0 end
redis.call('HSET', KEYS[1], 'p', now + cooldown)
return 1
"""


@dataclass(frozen=True)
class State:
    """One provider's breaker (gateway/breaker.py reads and moves it)."""

    failures: int = 0  # consecutive failures while closed
    open_until: float = 0.0  # 0: never opened since it last closed
    probe_until: float = 0.0  # a probe is running until then (or until it reports)


class RedisBreakers:
    """gateway/breaker.MemoryBreakers' interface, kept in Redis. Redis unreachable: every breaker
    reads as closed (routes go on calling providers in their order) and the failure is logged."""

    shared = True

    def __init__(self, client, errors, prefix="igw", failures=5, cooldown=30.0, clock=time.time):
        self.client, self.errors, self.prefix = client, errors, prefix
        self.limit, self.cooldown, self.clock = failures, cooldown, clock
        self.ttl = int(cooldown * 2) + 60  # a breaker outlives its cooldown; stale failures expire
        self._fail = client.register_script(FAIL)
        self._probe = client.register_script(PROBE)

    def key(self, provider_id):
        return f"{self.prefix}:breaker:{provider_id}"

    def read(self, provider_ids, now=None):
        try:
            if len(provider_ids) == 1:
                values = [self.client.hmget(self.key(provider_ids[0]), "f", "o", "p")]
            else:
                pipe = self.client.pipeline(transaction=False)
                for pid in provider_ids:
                    pipe.hmget(self.key(pid), "f", "o", "p")
                values = pipe.execute()
        except self.errors as exc:
            log.warning("circuit breakers unreadable (REDIS_URL: %s); every provider is taken as closed", exc)
            return {pid: State() for pid in provider_ids}
        return {pid: State(int(f or 0), float(o or 0), float(p or 0))
                for pid, (f, o, p) in zip(provider_ids, values)}

    def take_probe(self, provider_id, now=None):
        now = self.clock() if now is None else now
        try:
            return bool(self._probe(keys=[self.key(provider_id)], args=[repr(now), self.cooldown]))
        except self.errors as exc:
            log.warning("circuit breaker probe not recorded (REDIS_URL: %s)", exc)
            return True

    def failed(self, provider_id, now=None):
        now = self.clock() if now is None else now
        try:
            return bool(self._fail(keys=[self.key(provider_id)], args=[repr(now), self.limit, self.cooldown, self.ttl]))
        except self.errors as exc:
            log.warning("circuit breaker failure not counted (REDIS_URL: %s)", exc)
            return False

    def succeeded(self, provider_id, state=None):
        """Reset the provider's breaker; True when it was open (or probing) and now closed."""
        if state is not None and not state.failures and not state.open_until:
            return False  # nothing to reset: no write on the common path
        try:
            self.client.delete(self.key(provider_id))
        except self.errors as exc:
            log.warning("circuit breaker not reset (REDIS_URL: %s)", exc)
        return bool(state is None or state.open_until)

    def open_until(self, provider_ids, now=None):
        now = self.clock() if now is None else now
        return {pid: state.open_until for pid, state in self.read(list(provider_ids), now).items()
                if state.open_until > now}


class RedisBusy:
    """Calls in flight per route target, in Redis (least-busy across instances): one sorted set per
    target whose members are the calls, scored by when their lease ends, so a worker killed mid-call
    stops counting once its lease (LIMITS_LEASE_SECONDS) is over."""

    shared = True

    def __init__(self, client, errors, prefix="igw", lease_seconds=900, clock=time.time):
        self.client, self.errors, self.prefix = client, errors, prefix
        self.lease, self.clock = lease_seconds, clock

    def key(self, target):
        return f"{self.prefix}:busy:{target}"

    def counts(self, targets):
        now = self.clock()
        try:
            pipe = self.client.pipeline(transaction=False)
            for target in targets:
                pipe.zcount(self.key(target), repr(now), "+inf")
            return [int(n) for n in pipe.execute()]
        except self.errors as exc:
            log.warning("calls in flight unreadable (REDIS_URL: %s); least-busy keeps the route's order", exc)
            return [0] * len(targets)

    def start(self, target):
        member, now = os.urandom(8).hex(), self.clock()
        try:
            pipe = self.client.pipeline(transaction=False)
            pipe.zremrangebyscore(self.key(target), "-inf", repr(now))
            pipe.zadd(self.key(target), {member: now + self.lease})
            pipe.expire(self.key(target), self.lease + 60)
            pipe.execute()
        except self.errors as exc:
            log.warning("call in flight not counted (REDIS_URL: %s)", exc)
        return target, member

    def end(self, token):
        target, member = token
        try:
            self.client.zrem(self.key(target), member)
        except self.errors as exc:
            log.warning("call in flight not uncounted (REDIS_URL: %s); its lease ends it", exc)
