"""The Redis counters' own connections (store.limit_counters.ScriptRunner) against a real Redis: a
connection the server dropped, or scripts the server forgot, cost the next call nothing but a retry,
and never count a reservation twice."""
import os
import uuid

import pytest

from inference_gateway.store.limit_counters import Limits, RedisCounters, StoreUnavailable

REDIS_URL = os.environ.get("TEST_REDIS_URL")
pytestmark = pytest.mark.skipif(not REDIS_URL, reason="TEST_REDIS_URL is not set (e.g. redis://127.0.0.1:6379/0)")

LIMITS = Limits(rpm=100, tpm=10_000, max_concurrent=5, budget_nano=10 ** 9)


@pytest.fixture
def counters():
    import redis

    prefix = f"igw-test-{uuid.uuid4().hex[:8]}"
    counters = RedisCounters(REDIS_URL, prefix=prefix)
    yield counters
    admin = redis.Redis.from_url(REDIS_URL)
    keys = list(admin.scan_iter(f"{prefix}:*"))
    if keys:
        admin.delete(*keys)


def requests_counted(counters, key_id):
    """Requests in the key's window, read from Redis itself."""
    base = f"{counters.prefix}:{{{key_id}}}:"
    return sum(int(v) for v in counters.client.hvals(base + "req"))


def in_flight(counters, key_id):
    return counters.client.zcard(f"{counters.prefix}:{{{key_id}}}:lease")


def kill_our_connections(counters):
    """What a Redis restart or its idle timeout does to kept connections."""
    for conn in counters.scripts.idle:
        counters.client.execute_command("CLIENT", "KILL", "LADDR", "{}:{}".format(*conn._sock.getsockname()))


def test_a_connection_the_server_closed_is_replaced_and_the_call_counted_once(counters):
    first = counters.reserve("k1", LIMITS, 10, 1000)
    counters.settle(first, 10, 1000)
    assert len(counters.scripts.idle) == 1
    kill_our_connections(counters)

    second = counters.reserve("k1", LIMITS, 10, 1000)
    assert requests_counted(counters, "k1") == 2
    assert in_flight(counters, "k1") == 1
    kill_our_connections(counters)
    counters.settle(second, 10, 1000)
    assert in_flight(counters, "k1") == 0
    assert counters.spent_nano("k1", "total") == 2000


def test_scripts_flushed_from_redis_are_loaded_again(counters):
    counters.reserve("k2", LIMITS, 10, 1000)
    counters.client.script_flush()
    reservation = counters.reserve("k2", LIMITS, 10, 1000)
    counters.client.script_flush()
    counters.settle(reservation, 7, 500)
    assert requests_counted(counters, "k2") == 2
    assert in_flight(counters, "k2") == 1  # the first reservation is still open
    assert counters.spent_nano("k2", "total") == 500


def test_connections_are_reused_not_opened_per_call(counters):
    for _ in range(20):
        counters.settle(counters.reserve("k3", LIMITS, 1, 1), 1, 1)
    assert len(counters.scripts.idle) == 1
    assert requests_counted(counters, "k3") == 20


def test_an_unreachable_redis_raises_store_unavailable_and_keeps_no_connection():
    counters = RedisCounters("redis://127.0.0.1:1/0")
    with pytest.raises(StoreUnavailable):
        counters.reserve("k4", LIMITS, 1, 1)
    assert counters.scripts.idle == []


def test_a_timeout_is_not_repeated_since_the_script_may_have_run(counters):
    """A reply slower than the socket timeout: the reservation may have been counted, so it is
    reported (503 upstream of here) rather than sent again and counted twice."""
    counters.reserve("k5", LIMITS, 1, 1)
    [conn] = counters.scripts.idle
    conn.socket_timeout = 0.2
    conn._sock.settimeout(0.2)
    blocker = counters.client.connection_pool.make_connection()
    # A script that keeps Redis (one thread) busy for 0.6 s: it answers nobody meanwhile.
    blocker.send_command("EVAL", "local t = redis.call('TIME'); local s = t[1] + t[2] / 1e6; "
                         "repeat local n = redis.call('TIME') until n[1] + n[2] / 1e6 - s > 0.6; return 1", 0)
    try:
        with pytest.raises(StoreUnavailable):
            counters.reserve("k5", LIMITS, 1, 1)
    finally:
        blocker.read_response()
        blocker.disconnect()
    assert counters.scripts.idle == []
    assert requests_counted(counters, "k5") == 2  # it did run, once
