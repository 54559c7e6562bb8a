"""Who is calling: every request resolves to a Principal on `flask.g`; admin-only views say so.

Keys come as `Authorization: Bearer <key>` or `x-api-key: <key>`. GATEWAY_ADMIN_KEYS are admins,
GATEWAY_API_KEYS callers; other key sources (virtual keys) plug in through `add_key_source`. With
no static key configured the gateway runs in open mode: every request is the anonymous admin
`OPEN` (web/guards.py then limits it to loopback Host and Origin).

For other modules:
  - `g.principal` (or `current_principal()`): the caller's Principal, set before any view runs.
  - `@admin_required` on a view: callers get 403 FORBIDDEN (order with the route decorator is free).
  - `@public` on a view: no key at all (health probes; metrics check their own token).
  - `add_key_source(app, lookup)`: `lookup(key) -> Principal | None`, asked after the static keys.
  - `@session_signed_in` on a view: its blueprint sets `g.principal` from a signed-in session (the
    dashboard's pages) instead of a key header; the role markers still apply."""
import hashlib
import hmac
import logging
from dataclasses import dataclass, field
from typing import Optional

from flask import g, request

from inference_gateway import errors

log = logging.getLogger(__name__)

ADMIN, CALLER = "admin", "caller"
ROLE_ATTR = "gateway_role"  # set on a view function: ADMIN or PUBLIC; absent means callers too
PUBLIC = "public"
SESSION_ATTR = "gateway_session"  # set on a view whose blueprint signs the request in itself


@dataclass(frozen=True)
class Principal:
    """Who a request acts as. `key_id` is None for static keys and open mode."""

    role: str
    key_id: Optional[str] = None
    name: Optional[str] = None
    # Anything a key source wants to carry along (a virtual key's limits, say); not compared.
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_admin(self):
        return self.role == ADMIN


OPEN = Principal(ADMIN, name="open mode")
STATIC_ADMIN = Principal(ADMIN, name="GATEWAY_ADMIN_KEYS")
STATIC_CALLER = Principal(CALLER, name="GATEWAY_API_KEYS")


def admin_required(view):
    """Mark a view admin-only. The check runs before the view (in `authenticate`), so the marker
    holds whichever side of the route decorator it is put on."""
    setattr(view, ROLE_ATTR, ADMIN)
    return view


def public(view):
    """Mark a view as needing no key (liveness and readiness probes, metrics with its own token)."""
    setattr(view, ROLE_ATTR, PUBLIC)
    return view


def session_signed_in(view):
    """Mark a view as signed in by its blueprint's session cookie (a browser page), not a key header."""
    setattr(view, SESSION_ATTR, True)
    return view


def view_role(app, endpoint):
    """ADMIN, PUBLIC or CALLER for an endpoint name (CALLER for unknown ones)."""
    return getattr(app.view_functions.get(endpoint), ROLE_ATTR, CALLER)


def current_principal():
    return g.get("principal")


def presented_key(headers):
    """The key of `Authorization: Bearer <key>`, else of `x-api-key`, else None."""
    header = headers.get("Authorization")
    if header:
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() == "bearer" and token:
            return token
    return headers.get("x-api-key", "").strip() or None


def _digest(key):
    return hashlib.sha256(key.encode()).digest()


def key_matches(presented, keys):
    """Constant-time comparison against every configured key (no early exit on a match)."""
    presented = presented.encode()
    found = False
    for key in keys:
        found |= hmac.compare_digest(presented, key.encode())
    return found


def check_request(keys):
    """401 unless the request presents one of `keys` (metrics' own token check)."""
    key = presented_key(request.headers)
    if key is None:
        raise errors.Unauthorized(MISSING_KEY)
    if not key_matches(key, keys):
        raise errors.Unauthorized("invalid API key")


MISSING_KEY = "missing API key: send 'Authorization: Bearer <key>' or 'x-api-key: <key>'"


class Authenticator:
    """The static keys (by SHA-256 digest: one dict lookup whatever their number, and no timing
    that depends on how much of a key matched) and the registered key sources."""

    def __init__(self, admin_keys, caller_keys):
        self.by_digest = {_digest(k): STATIC_CALLER for k in caller_keys}
        # A key in both lists is an admin's.
        self.by_digest.update({_digest(k): STATIC_ADMIN for k in admin_keys})
        self.has_admin_keys = bool(admin_keys)
        self.open = not self.by_digest
        self.sources = []

    def lookup(self, key):
        principal = self.by_digest.get(_digest(key))
        if principal is None:
            for source in self.sources:
                principal = source(key)
                if principal is not None:
                    break
        return principal

    def principal_for(self, headers):
        key = presented_key(headers)
        if self.open:
            # A key a source knows (a virtual key) still counts as that key in open mode.
            found = self.lookup(key) if key is not None and self.sources else None
            return found or OPEN
        if key is None:
            raise errors.Unauthorized(MISSING_KEY)
        principal = self.lookup(key)
        if principal is None:
            raise errors.Unauthorized("invalid API key")
        return principal

    def forbidden(self):
        if not self.has_admin_keys:
            return errors.Forbidden(
                "this route needs an admin key, and none is configured: set GATEWAY_ADMIN_KEYS "
                "on the gateway and send one of its keys")
        return errors.Forbidden("this route needs an admin key (one of GATEWAY_ADMIN_KEYS); "
                                "the key sent is a caller key")


def add_key_source(app, lookup):
    """Register `lookup(key) -> Principal | None`, asked (in order) for keys the static lists
    do not hold. It runs on every request that presents such a key: keep it off the database."""
    app.extensions["auth"].sources.append(lookup)


def init_app(app):
    admin_keys = app.config["ADMIN_KEYS"]
    auth = app.extensions["auth"] = Authenticator(admin_keys, app.config["API_KEYS"])
    if auth.open:
        log.warning("neither GATEWAY_API_KEYS nor GATEWAY_ADMIN_KEYS is set: open development mode, "
                    "every request is an admin (served only to loopback Host and Origin unless "
                    "ALLOWED_HOSTS says otherwise)")
    elif not admin_keys:
        log.warning("GATEWAY_ADMIN_KEYS is not set: admin routes (providers, model sync) answer 403; "
                    "set GATEWAY_ADMIN_KEYS=<key>[,<key>...] to manage the gateway")
    views = app.view_functions

    @app.before_request
    def authenticate():
        view = views.get(request.endpoint)
        role = getattr(view, ROLE_ATTR, CALLER)
        if role == PUBLIC or getattr(view, SESSION_ATTR, False):
            return
        if request.endpoint is None and not request.path.startswith("/api/"):
            return  # a 404/405 outside the API (a probe's wrong method) tells nothing worth a key
        principal = g.principal = auth.principal_for(request.headers)
        if role == ADMIN and principal.role != ADMIN:
            raise auth.forbidden()
