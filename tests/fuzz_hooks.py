"""Schemathesis hooks for tests/test_fuzz.py (loaded with SCHEMATHESIS_HOOKS=tests.fuzz_hooks)."""
from urllib.parse import urlencode

import schemathesis

# The 5xx a provider call may end in, each documented on the routes that call a provider.
UPSTREAM_STATUSES = {502, 503, 504}


@schemathesis.check
def server_errors_are_upstream_ones(ctx, response, case):
    """No 5xx but the documented upstream ones: a 500 is a bug, whatever the input."""
    if response.status_code >= 500 and response.status_code not in UPSTREAM_STATUSES:
        raise AssertionError(f"{response.status_code} from {case.method} {case.path}: {response.text[:300]}")


@schemathesis.check
def errors_are_envelopes(ctx, response, case):
    """Every 4xx/5xx is the JSON error envelope with a code and a message a person can read."""
    if response.status_code < 400:
        return
    try:
        body = response.json()
    except ValueError:
        raise AssertionError(f"{response.status_code} is not JSON: {response.text[:200]!r}") from None
    error = body.get("error") if isinstance(body, dict) else None
    if body.get("success") is not False or not isinstance(error, dict) or not error.get("code") \
            or not error.get("message"):
        raise AssertionError(f"{response.status_code} is not an error envelope: {body!r:.300}")


# gunicorn answers a request line over 4094 bytes (limit_request_line) itself, with an HTML 414
# before the app sees it: reported in the README (Known limits), not fuzzed.
MAX_QUERY = 3000


@schemathesis.hook
def filter_query(ctx, query):
    return query is None or len(urlencode(query, doseq=True)) < MAX_QUERY
