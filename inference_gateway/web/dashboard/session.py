"""Signing in to the dashboard: a gateway key is posted once and a signed session cookie stands
for it from then on. The cookie carries no key (nor a plain hash of one): a static key is named by
an HMAC under the session secret, a virtual key by its id, and both are checked again on every
page, so a key removed from the settings or revoked signs its sessions out.

The secret: DASHBOARD_SECRET, else random bytes kept in DATA_DIR/dashboard-secret (created once,
mode 0600, shared by the workers of one machine). Instances on other machines make their own
unless DASHBOARD_SECRET gives them one: a session is then good only on the instance that made it."""
import hashlib
import hmac
import logging
import os
import secrets
from datetime import timedelta

from flask import g, request, session
from flask.sessions import SecureCookieSessionInterface

from inference_gateway import errors
from inference_gateway.gateway.keys import check_usable, info_of
from inference_gateway.store import key_store
from inference_gateway.web import auth
from inference_gateway.web.virtual_keys import principal_of

log = logging.getLogger(__name__)

COOKIE = "igw_dashboard"
SECRET_FILE = "dashboard-secret"


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie, marked Secure whenever the page came over HTTPS (directly or, with
    TRUSTED_PROXIES, through a proxy that says so), so a plain-HTTP development server still works."""

    def get_cookie_secure(self, app):
        return request.is_secure


def load_secret(config):
    """DASHBOARD_SECRET, else the instance's own random secret (made on first use)."""
    if config.get("DASHBOARD_SECRET"):
        return config["DASHBOARD_SECRET"].encode()
    path = os.path.join(config["DATA_DIR"], SECRET_FILE)
    os.makedirs(config["DATA_DIR"], exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        with open(path, "rb") as handle:
            secret = handle.read().strip()
        if len(secret) >= 32:
            return secret
        raise RuntimeError(f"{path} is shorter than 32 bytes: delete it (sessions are signed out) or set "
                           "DASHBOARD_SECRET") from None
    secret = secrets.token_hex(32).encode()
    with os.fdopen(fd, "wb") as handle:
        handle.write(secret)
    log.info("made the dashboard's session secret in %s (set DASHBOARD_SECRET to share one between instances)",
             path)
    return secret


class SignIn:
    """What a session may stand for, with the app's static keys and secret."""

    def __init__(self, app, secret):
        self.auth = app.extensions["auth"]
        self.secret = secret
        # Static keys by an HMAC of their digest: a stolen cookie reveals nothing to guess a key from.
        self.static = {self._ref(digest): principal for digest, principal in self.auth.by_digest.items()}

    def _ref(self, digest):
        return hmac.new(self.secret, b"dashboard-static-key:" + digest, hashlib.sha256).hexdigest()

    @property
    def open(self):
        return self.auth.open

    def sign_in(self, key):
        """Start a session for `key`; 401 (a page saying so) when no key is that."""
        key = (key or "").strip()
        if not key:
            raise errors.Unauthorized("paste a gateway key to sign in")
        principal = self.auth.by_digest.get(hashlib.sha256(key.encode()).digest())
        if principal is not None:
            who = {"static": self._ref(hashlib.sha256(key.encode()).digest())}
        else:
            principal = self.auth.lookup(key)  # a virtual key: 401 if revoked or expired
            if principal is None:
                raise errors.Unauthorized("that is not a key of this gateway")
            who = {"key": principal.key_id}
        csrf = session.get("csrf")
        session.clear()
        session.update(who, csrf=csrf or secrets.token_urlsafe(24), name=principal.name or "")
        session.permanent = True
        return principal

    def principal(self):
        """The signed-in principal, or None (no session, or its key no longer works)."""
        if "static" in session:
            return self.static.get(session["static"])
        if "key" in session:
            try:
                info = info_of(key_store.get(session["key"]))
            except errors.NotFound:
                return None
            try:
                check_usable(info)
            except errors.Unauthorized:
                return None
            return principal_of(info)
        return None


def csrf_token():
    """This session's form token (a session is started for it: the sign-in form has one too)."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


def check_csrf():
    """A form post must carry the session's token: another site's page cannot read it."""
    sent = request.form.get("csrf", "")
    if not sent or not session.get("csrf") or not hmac.compare_digest(sent, session["csrf"]):
        raise errors.Forbidden("this form has expired or did not come from this dashboard: reload the page "
                               "and send it again")


def configure(app, hours):
    """Flask's session for the dashboard's pages only (the API never reads a cookie)."""
    app.session_interface = SessionInterface()
    app.secret_key = load_secret(app.config)
    app.config.update(SESSION_COOKIE_NAME=COOKIE, SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Strict",
                      SESSION_COOKIE_PATH="/dashboard", PERMANENT_SESSION_LIFETIME=timedelta(hours=hours))
    sign_in = app.extensions["dashboard_sign_in"] = SignIn(app, app.secret_key)
    return sign_in


def current(sign_in):
    """Set g.principal for a page: open mode's admin, or the session's; None when signed out."""
    principal = auth.OPEN if sign_in.open else sign_in.principal()
    if principal is not None:
        g.principal = principal
    return principal
