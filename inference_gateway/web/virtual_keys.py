"""Virtual keys as a key source for auth, and the x-ratelimit-* headers of their calls."""
from flask import current_app, g

from inference_gateway.gateway.admission import ratelimit_headers
from inference_gateway.gateway.keys import KeyCache, check_usable
from inference_gateway.store import key_store
from inference_gateway.store.key_store import SECRET_PREFIX
from inference_gateway.store.limit_counters import NANO, StoreUnavailable
from inference_gateway.web import auth


def principal_of(key_info):
    return auth.Principal(key_info.role, key_id=key_info.id, name=key_info.name, extra={"key": key_info})


def current_key():
    """The virtual key (gateway.keys.KeyInfo) of this request, or None."""
    principal = auth.current_principal()
    return principal.extra.get("key") if principal is not None and principal.key_id else None


def own_key_only():
    """The key id a request's reads are limited to: its own for a caller's virtual key; None
    (everything) for admins and static caller keys."""
    principal = auth.current_principal()
    if principal is not None and principal.key_id and not principal.is_admin:
        return principal.key_id
    return None


def with_spend(row):
    """The key as the API shows it, with its spend in the current budget period."""
    out = key_store.to_dict(row)
    gate = current_app.extensions["gate"]
    try:
        out["spentUsd"] = gate.counters.spent_nano(row.id, row.budget_period or "total") / NANO
    except StoreUnavailable:
        out["spentUsd"] = None
    return out


def init_app(app):
    cache = KeyCache(app.config["KEY_CACHE_SECONDS"])

    def lookup(secret):
        if not secret.startswith(SECRET_PREFIX):
            return None
        info = cache.get(secret)
        if info is None:
            return None
        check_usable(info)
        return principal_of(info)

    auth.add_key_source(app, lookup)

    @app.after_request
    def _ratelimit_headers(response):
        record = g.get("call_record")
        window = getattr(record, "limits_window", None)
        if window is not None:
            # One pass over the headers: werkzeug's setdefault scans them all for each name it sets.
            present = {name.lower() for name in response.headers.keys()}
            response.headers.extend([(name, value) for name, value in ratelimit_headers(window).items()
                                     if name not in present])
        return response
