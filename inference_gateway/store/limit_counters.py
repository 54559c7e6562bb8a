"""Counters for virtual keys' limits, shared by every worker and instance: requests and tokens per
minute, calls in flight and spend per budget period, reserved before a call and settled after it.

With REDIS_URL the counters live in Redis and each reservation and settlement is one Lua script
(atomic: a check and its increment cannot interleave with another instance's). Without it they live
in the gateway's database, one transaction per reservation, serialised per key: SQLite takes its
write lock up front (BEGIN IMMEDIATE), PostgreSQL a transaction-scoped advisory lock on the key.

Windows are the last 60 seconds in one-second buckets, so a limit holds exactly however the calls
fall across minute boundaries. A reservation holds a lease that expires after LIMITS_LEASE_SECONDS:
a worker killed mid-call gives its concurrency slot and reserved spend back when the lease ends."""
import logging
import os
import time
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Optional

from peewee import PostgresqlDatabase

from inference_gateway.store import db
from inference_gateway.store.tables import KeySpend, LimitEvent

log = logging.getLogger(__name__)

WINDOW = 60
NANO = 1_000_000_000  # budgets and costs are counted in nano-USD integers
RPM, TPM, CONCURRENCY, BUDGET = "rpm", "tpm", "maxConcurrent", "budget"


@dataclass(frozen=True)
class Limits:
    rpm: Optional[int] = None
    tpm: Optional[int] = None
    max_concurrent: Optional[int] = None
    budget_nano: Optional[int] = None
    budget_period: str = "total"

    @property
    def any(self):
        return any(v is not None for v in (self.rpm, self.tpm, self.max_concurrent, self.budget_nano))


@dataclass
class Window:
    """What the x-ratelimit-* headers say after a reservation (or a refusal)."""

    limit_requests: Optional[int] = None
    remaining_requests: Optional[int] = None
    reset_requests: float = 0.0
    limit_tokens: Optional[int] = None
    remaining_tokens: Optional[int] = None
    reset_tokens: float = 0.0


@dataclass
class Reservation:
    key_id: str
    id: str
    second: int
    tokens: int
    cost_nano: int
    period: str
    spent_ttl: int = 0  # seconds the period's spend counter is kept (0: forever)
    window: Window = field(default_factory=Window)
    settled: bool = False


class Refused(Exception):
    """A reservation the limits do not allow: which limit, and when to try again."""

    def __init__(self, limit, retry_after, window, detail=""):
        super().__init__(limit)
        self.limit, self.retry_after, self.window, self.detail = limit, retry_after, window, detail


class StoreUnavailable(Exception):
    """The counters' store (Redis) cannot be reached."""


def period_of(budget_period, now):
    """The budget period a moment falls in, and seconds its counter must be kept (None: forever)."""
    moment = datetime.fromtimestamp(now, timezone.utc)
    if budget_period == "day":
        return "d" + moment.strftime("%Y%m%d"), 2 * 86400
    if budget_period == "month":
        return "m" + moment.strftime("%Y%m"), 32 * 86400
    return "total", None


def new_reservation_id():
    return os.urandom(8).hex()


def wait_for(buckets, total, need, limit, now):
    """Seconds until enough of the window's (second, amount) buckets leave it for `need` to fit."""
    freed = 0
    for second, amount in sorted(buckets):
        freed += amount
        if total - freed + need <= limit:
            return max(0.0, second + WINDOW - now)
    return float(WINDOW)


# KEYS: requests, tokens, leases, reserved cost, spent. ARGV: now, rpm, tpm, maxConcurrent, budget
# (-1: none), estimated tokens, estimated cost, reservation id, lease seconds, spent ttl (0: none).
# Returns {1, remaining requests, reset ms, remaining tokens, reset ms} or
# {0, limit name, retry ms, remaining requests, reset ms, remaining tokens, reset ms}.
RESERVE = """
local now = tonumber(ARGV[1]); local sec = math.floor(now); local lo = sec - 59
local rpm, tpm, maxc, budget = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local est_tok, est_cost, resid = tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8]
local lease, spent_ttl = tonumber(ARGV[9]), tonumber(ARGV[10])
local function window(key)
  local flat = redis.call('HGETALL', key)
  local total, stale, buckets = 0, {}, {}
  for i = 1, #flat, 2 do
    local s, v = tonumber(flat[i]), tonumber(flat[i + 1])
    if s < lo then stale[#stale + 1] = flat[i] else total = total + v; buckets[#buckets + 1] = {s, v} end
  end
  if #stale > 0 then redis.call('HDEL', key, unpack(stale)) end
  table.sort(buckets, function(a, b) return a[1] < b[1] end)
  return total, buckets
end
local function wait_ms(buckets, total, need, limit)
  local freed = 0
  for _, b in ipairs(buckets) do
    freed = freed + b[2]
    if total - freed + need <= limit then return math.max(0, math.floor((b[1] + 60 - now) * 1000)) end
  end
  return 60000
end
local function reset_ms(buckets)
  if #buckets == 0 then return 0 end
  return math.max(0, math.floor((buckets[#buckets][1] + 60 - now) * 1000))
end
local reqs, rb, toks, tb = 0, {}, 0, {}
if rpm >= 0 then reqs, rb = window(KEYS[1]) end
if tpm >= 0 then toks, tb = window(KEYS[2]) end
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
if #expired > 0 then redis.call('ZREM', KEYS[3], unpack(expired)); redis.call('HDEL', KEYS[4], unpack(expired)) end
local function refuse(name, ms)
  return {0, name, ms, rpm - reqs, reset_ms(rb), tpm - toks, reset_ms(tb)}
end
if maxc >= 0 and redis.call('ZCARD', KEYS[3]) >= maxc then
  return refuse('maxConcurrent', 1000)
end
if rpm >= 0 and reqs + 1 > rpm then return refuse('rpm', wait_ms(rb, reqs, 1, rpm)) end
if tpm >= 0 and toks + est_tok > tpm then return refuse('tpm', wait_ms(tb, toks, est_tok, tpm)) end
if budget >= 0 then
  local reserved = 0
  for _, v in ipairs(redis.call('HVALS', KEYS[4])) do reserved = reserved + tonumber(v) end
  local spent = tonumber(redis.call('GET', KEYS[5]) or '0')
  if spent + reserved >= budget then return refuse('budget', 0) end
end
if rpm >= 0 then redis.call('HINCRBY', KEYS[1], sec, 1); redis.call('EXPIRE', KEYS[1], 120); reqs = reqs + 1 end
if tpm >= 0 then redis.call('HINCRBY', KEYS[2], sec, est_tok); redis.call('EXPIRE', KEYS[2], 120); toks = toks + est_tok end
redis.call('ZADD', KEYS[3], now + lease, resid); redis.call('EXPIRE', KEYS[3], lease + 60)
redis.call('HSET', KEYS[4], resid, est_cost); redis.call('EXPIRE', KEYS[4], lease + 60)
if rpm >= 0 then rb[#rb + 1] = {sec, 1} end
if tpm >= 0 then tb[#tb + 1] = {sec, est_tok} end
return {1, rpm - reqs, reset_ms(rb), tpm - toks, reset_ms(tb)}
"""

# KEYS: tokens, leases, reserved cost, spent. ARGV: reservation id, its second, token change,
# actual cost, spent ttl (0: none).
SETTLE = """
redis.call('ZREM', KEYS[2], ARGV[1]); redis.call('HDEL', KEYS[3], ARGV[1])
local delta = tonumber(ARGV[3])
if delta ~= 0 and redis.call('HEXISTS', KEYS[1], ARGV[2]) == 1 then redis.call('HINCRBY', KEYS[1], ARGV[2], delta) end
local cost = tonumber(ARGV[4])
if cost > 0 then
  redis.call('INCRBY', KEYS[4], cost)
  if tonumber(ARGV[5]) > 0 then redis.call('EXPIRE', KEYS[4], tonumber(ARGV[5])) end
end
return 1
"""


class ScriptRunner:
    """The performance shortcut of this layer: the two scripts run on redis-py connections kept here
    rather than taken from its pool. The pool checks every connection it hands out with a zero-timeout
    select, which gevent makes costly: 41 against 138 us CPU per script call in a gevent-patched
    process (bench/redis_scripts.py; a call with a virtual key makes two). A connection in use is
    never shared (one per greenlet or thread at a time); one that failed or was interrupted
    mid-command is dropped, never reused with a reply unread."""

    def __init__(self, client):
        from redis.exceptions import NoScriptError, TimeoutError

        self.no_script, self.timeout = NoScriptError, TimeoutError
        self.pool = client.connection_pool
        self.idle = []
        os.register_at_fork(after_in_child=self.idle.clear)  # a parent's sockets are not a worker's

    def run(self, script, keys, args, errors):
        reused = bool(self.idle)
        conn = self.idle.pop() if reused else self.pool.make_connection()
        try:
            reply = self._evalsha(conn, script, keys, args)
        except errors as exc:
            conn.disconnect()
            # A kept connection the server has since closed (idle timeout, restart) fails before the
            # script runs: once more on a new one. After a timeout it may have run: never repeated.
            if not reused or isinstance(exc, self.timeout):
                raise
            conn = self.pool.make_connection()
            try:
                reply = self._evalsha(conn, script, keys, args)
            except BaseException:
                conn.disconnect()
                raise
        except BaseException:
            conn.disconnect()
            raise
        self.idle.append(conn)
        return reply

    def _evalsha(self, conn, script, keys, args):
        try:
            conn.send_command("EVALSHA", script.sha, len(keys), *keys, *args)
            return conn.read_response()
        except self.no_script:  # a restarted or flushed Redis: the script's text loads it again
            conn.send_command("EVAL", script.script, len(keys), *keys, *args)
            return conn.read_response()


class RedisCounters:
    """The counters in Redis; keys under `prefix` (one hash tag per virtual key, so a cluster keeps
    a key's counters on one node)."""

    def __init__(self, url, prefix="igw", lease_seconds=900):
        import redis

        self.errors = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
        self.client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2,
                                           health_check_interval=30)
        self.prefix, self.lease = prefix, lease_seconds
        self._reserve = self.client.register_script(RESERVE)
        self._settle = self.client.register_script(SETTLE)
        self.scripts = ScriptRunner(self.client)

    def _keys(self, key_id, period):
        base = f"{self.prefix}:{{{key_id}}}:"
        return [base + "req", base + "tok", base + "lease", base + "held", base + "spent:" + period]

    def reserve(self, key_id, limits, tokens, cost_nano, now=None):
        now = time.time() if now is None else now
        period, ttl = period_of(limits.budget_period, now)
        resid = new_reservation_id()
        args = [repr(now), _or(limits.rpm), _or(limits.tpm), _or(limits.max_concurrent), _or(limits.budget_nano),
                tokens, cost_nano, resid, self.lease, ttl or 0]
        try:
            out = self.scripts.run(self._reserve, self._keys(key_id, period), args, self.errors)
        except self.errors as exc:
            raise StoreUnavailable(str(exc)) from exc
        if out[0] == 1:
            window = _window(limits, out[1], out[2], out[3], out[4])
            return Reservation(key_id, resid, int(now), tokens, cost_nano, period, ttl or 0, window)
        name = out[1].decode() if isinstance(out[1], bytes) else out[1]
        raise Refused(name, out[2] / 1000.0, _window(limits, out[3], out[4], out[5], out[6]))

    def settle(self, reservation, tokens, cost_nano):
        keys = self._keys(reservation.key_id, reservation.period)
        try:
            self.scripts.run(self._settle, keys[1:], [reservation.id, reservation.second, tokens - reservation.tokens,
                                                      cost_nano, reservation.spent_ttl], self.errors)
        except self.errors as exc:
            raise StoreUnavailable(str(exc)) from exc

    def spent_nano(self, key_id, budget_period):
        period, _ = period_of(budget_period, time.time())
        try:
            return int(self.client.get(self._keys(key_id, period)[4]) or 0)
        except self.errors as exc:
            raise StoreUnavailable(str(exc)) from exc


def _or(value):
    return -1 if value is None else int(value)


def _window(limits, remaining_requests, reset_requests_ms, remaining_tokens, reset_tokens_ms):
    return Window(limits.rpm, max(0, remaining_requests) if limits.rpm is not None else None,
                  reset_requests_ms / 1000.0, limits.tpm,
                  max(0, remaining_tokens) if limits.tpm is not None else None, reset_tokens_ms / 1000.0)


class DatabaseCounters:
    def __init__(self, lease_seconds=900):
        self.lease = lease_seconds

    @contextmanager
    def _locked(self, key_id):
        with db.connection():
            if isinstance(db.database.obj, PostgresqlDatabase):
                with db.database.atomic():
                    db.database.execute_sql("SELECT pg_advisory_xact_lock(%s)",
                                            (zlib.crc32(key_id.encode()) - 2 ** 31,))
                    yield
            else:
                with db.database.atomic(lock_type="IMMEDIATE"):
                    yield

    def reserve(self, key_id, limits, tokens, cost_nano, now=None):
        now = time.time() if now is None else now
        second, period_ttl = int(now), period_of(limits.budget_period, now)
        period, ttl = period_ttl
        E = LimitEvent
        with self._locked(key_id):
            E.delete().where(E.key_id == key_id, E.second <= second - WINDOW,
                             (E.open == False) | (E.lease_until < now)).execute()  # noqa: E712
            rows = list(E.select(E.second, E.tokens, E.cost_nano, E.lease_until, E.open)
                        .where(E.key_id == key_id).tuples())
            recent = [(s, t) for s, t, _, _, _ in rows if s > second - WINDOW]
            reqs, toks = len(recent), sum(t for _, t in recent)
            live = [c for _, _, c, until, is_open in rows if is_open and until > now]
            request_buckets = [(s, 1) for s, _ in recent]

            def window():
                return Window(limits.rpm, _left(limits.rpm, reqs), _reset(request_buckets, now),
                                limits.tpm, _left(limits.tpm, toks), _reset(recent, now))

            if limits.max_concurrent is not None and len(live) >= limits.max_concurrent:
                raise Refused(CONCURRENCY, 1.0, window())
            if limits.rpm is not None and reqs + 1 > limits.rpm:
                raise Refused(RPM, wait_for(request_buckets, reqs, 1, limits.rpm, now), window())
            if limits.tpm is not None and toks + tokens > limits.tpm:
                raise Refused(TPM, wait_for(recent, toks, tokens, limits.tpm, now), window())
            if limits.budget_nano is not None:
                spent = KeySpend.get_or_none(KeySpend.id == f"{key_id}:{period}")
                if (spent.nano if spent else 0) + sum(live) >= limits.budget_nano:
                    raise Refused(BUDGET, 0.0, window())
            resid = new_reservation_id()
            E.insert(id=resid, key_id=key_id, second=second, tokens=tokens, cost_nano=cost_nano,
                     lease_until=now + self.lease, open=True).execute()
            reqs, toks = reqs + 1, toks + tokens
            request_buckets.append((second, 1))
            recent.append((second, tokens))
            return Reservation(key_id, resid, second, tokens, cost_nano, period, ttl or 0, window())

    def settle(self, reservation, tokens, cost_nano):
        with self._locked(reservation.key_id):
            LimitEvent.update(tokens=tokens, open=False).where(LimitEvent.id == reservation.id).execute()
            if cost_nano > 0:
                spend_id = f"{reservation.key_id}:{reservation.period}"
                (KeySpend.insert(id=spend_id, nano=cost_nano)
                 .on_conflict(conflict_target=[KeySpend.id], update={KeySpend.nano: KeySpend.nano + cost_nano})
                 .execute())

    def spent_nano(self, key_id, budget_period):
        period, _ = period_of(budget_period, time.time())
        with db.connection():
            row = KeySpend.get_or_none(KeySpend.id == f"{key_id}:{period}")
        return row.nano if row else 0


def _left(limit, used):
    return None if limit is None else max(0, limit - used)


def _reset(buckets, now):
    return max(0.0, max(s for s, _ in buckets) + 60 - now) if buckets else 0.0
