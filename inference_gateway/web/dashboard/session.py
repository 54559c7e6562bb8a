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
import tempfile
import threading
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
PATH = "/dashboard"
SECRET_FILE = "dashboard-secret"


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie, for the dashboard's paths only (an API request never parses a cookie:
    it gets Flask's null session), marked Secure whenever the page came over HTTPS (directly or,
    with TRUSTED_PROXIES, through a proxy that says so), so a plain-HTTP development server works."""

    def open_session(self, app, request):
        if not request.path.startswith(PATH) or not app.extensions["dashboard_sign_in"].ready():
            return None
        return super().open_session(app, request)

    def get_cookie_secure(self, app):
        return request.is_secure


def load_secret(config):
    """DASHBOARD_SECRET, else the instance's own random secret (made on first use). The file is
    written whole under another name and linked into place, so a worker racing another never
    reads it half-written."""
    if config.get("DASHBOARD_SECRET"):
        return config["DASHBOARD_SECRET"].encode()
    directory = config["DATA_DIR"]
    path = os.path.join(directory, SECRET_FILE)
    if not os.path.exists(path):
        os.makedirs(directory, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=directory, prefix=SECRET_FILE)  # mode 0600
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(secrets.token_hex(32).encode())
            os.link(temporary, path)
            log.info("made the dashboard's session secret in %s (set DASHBOARD_SECRET to share one between "
                     "instances)", path)
        except FileExistsError:
            pass  # another worker made it first: use theirs
        finally:
            os.unlink(temporary)
    with open(path, "rb") as handle:
        secret = handle.read().strip()
    if len(secret) < 32:
        raise OSError(f"{path} holds fewer than 32 bytes: delete it (everyone is signed out) or set DASHBOARD_SECRET")
    return secret


class SignIn:
    """What a session may stand for: the app's static keys, its virtual keys, and the secret that
    signs sessions (loaded on the first dashboard request, so the gateway starts whatever DATA_DIR
    allows; a dashboard that cannot keep sessions says why)."""

    def __init__(self, app):
        self.app = app
        self.auth = app.extensions["auth"]
        self.secret = None
        self.problem = None
        self.static = {}
        self._lock = threading.Lock()

    def ready(self):
        """Whether sessions can be signed (the secret is loaded, now if need be)."""
        if self.secret is not None:
            return True
        with self._lock:
            if self.secret is None:
                try:
                    secret = load_secret(self.app.config)
                except OSError as exc:
                    self.problem = (f"the dashboard cannot keep sign-ins: {exc}; set DASHBOARD_SECRET, or let the "
                                    f"gateway write {os.path.join(self.app.config['DATA_DIR'], SECRET_FILE)}")
                    log.error("%s", self.problem)
                    return False
                # Static keys by an HMAC of their digest: a cookie reveals nothing to guess a key from.
                self.static = {self._ref(secret, digest): principal
                               for digest, principal in self.auth.by_digest.items()}
                self.app.secret_key = secret
                self.secret, self.problem = secret, None
        return True

    @staticmethod
    def _ref(secret, digest):
        return hmac.new(secret, b"dashboard-static-key:" + digest, hashlib.sha256).hexdigest()

    @property
    def open(self):
        return self.auth.open

    def sign_in(self, key):
        """Start a session for `key`; 401 (a page saying so) when no key is that."""
        key = (key or "").strip()
        if not key:
            raise errors.Unauthorized("paste a gateway key to sign in")
        digest = hashlib.sha256(key.encode()).digest()
        principal = self.auth.by_digest.get(digest)
        if principal is not None:
            who = {"static": self._ref(self.secret, digest)}
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
                check_usable(info)
            except (errors.NotFound, errors.Unauthorized):
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
    """Flask's session, for the dashboard's pages only (the API never reads a cookie)."""
    app.session_interface = SessionInterface()
    app.config.update(SESSION_COOKIE_NAME=COOKIE, SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Strict",
                      SESSION_COOKIE_PATH=PATH, PERMANENT_SESSION_LIFETIME=timedelta(hours=hours))
    sign_in = app.extensions["dashboard_sign_in"] = SignIn(app)
    return sign_in


def current(sign_in):
    """Set g.principal for a page: open mode's admin, or the session's; None when signed out."""
    if sign_in.open:
        principal = auth.OPEN
    elif not sign_in.ready():
        raise errors.ServiceUnavailable(sign_in.problem)
    else:
        principal = sign_in.principal()
    if principal is not None:
        g.principal = principal
    return principal
