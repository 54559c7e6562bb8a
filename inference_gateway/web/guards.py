"""Guards every request passes before its key is looked at: the hop count (loops through
gateways), the Host name (DNS rebinding) and, in open mode, the Origin (cross-site pages)."""
import logging
from urllib.parse import urlsplit

from flask import request

from inference_gateway import errors
from inference_gateway.providers.http import HOPS_HEADER, set_inbound_hops
from inference_gateway.web.auth import PUBLIC, ROLE_ATTR

log = logging.getLogger(__name__)

LOOPBACK = ("localhost", "127.0.0.1", "[::1]")


def host_name(host):
    """The name part of a Host header or URL netloc, lower-case, IPv6 in brackets, no port."""
    host = host.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        return host[:end + 1] if end > 0 else host
    if host.count(":") > 1:  # a bare IPv6 address
        return f"[{host}]"
    return host.partition(":")[0].rstrip(".")


class HostPolicy:
    """Which Host names are served: exact names, `.example.com` for a domain and its subdomains,
    `*` for any."""

    def __init__(self, names):
        names = [host_name(n) if not n.startswith(".") else n.lower() for n in names]
        self.any = "*" in names
        self.exact = frozenset(n for n in names if not n.startswith("."))
        self.suffixes = tuple(n for n in names if n.startswith("."))
        self.described = ", ".join(names)

    def allows(self, name):
        if self.any or name in self.exact:
            return True
        return bool(self.suffixes) and (name.endswith(self.suffixes) or "." + name in self.suffixes)


def origin_name(origin):
    """The host name of an Origin header, or None for `null` and anything unparsable."""
    try:
        parts = urlsplit(origin)
        hostname = parts.hostname
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not hostname:
        return None
    return host_name(f"[{hostname}]" if ":" in hostname else hostname)


def parse_hops(raw, max_hops):
    """The hop count a request arrived with; 400 for a malformed one, 508 at `max_hops` or more."""
    try:
        hops = int(raw)
    except ValueError:
        raise errors.BadRequest(f"{HOPS_HEADER} must be a whole number") from None
    if hops < 0:
        raise errors.BadRequest(f"{HOPS_HEADER} must be a whole number")
    if hops >= max_hops:
        raise errors.LoopDetected(
            f"this request has already passed {hops} gateways ({HOPS_HEADER}: {hops}; MAX_HOPS is "
            f"{max_hops}): a loop, most likely a provider whose baseUrl points back at a gateway")
    return hops


def init_app(app):
    config = app.config
    max_hops = config["MAX_HOPS"]
    open_mode = not config["API_KEYS"] and not config["ADMIN_KEYS"]
    names = config["ALLOWED_HOSTS_LIST"] or (LOOPBACK if open_mode else None)
    hosts = HostPolicy(names) if names else None
    if hosts is not None and open_mode:
        log.info("serving Host names: %s", hosts.described)
    views = app.view_functions

    @app.before_request
    def guard():
        raw = request.headers.get(HOPS_HEADER)
        # Set on every request: a worker's greenlet or thread serves many requests in turn.
        set_inbound_hops(parse_hops(raw, max_hops) if raw is not None else 0)
        if hosts is None or getattr(views.get(request.endpoint), ROLE_ATTR, None) == PUBLIC:
            return
        name = host_name(request.host)
        if not hosts.allows(name):
            raise errors.Forbidden(
                f"this gateway does not serve the host name '{name[:100]}' (it serves "
                f"{hosts.described}; set ALLOWED_HOSTS to the names clients use)")
        if open_mode:
            origin = request.headers.get("Origin")
            if origin is not None and not hosts.allows(origin_name(origin) or ""):
                raise errors.Forbidden(
                    "no key is configured (open mode), so requests from web pages of other origins "
                    f"are refused (Origin '{origin[:100]}'); set GATEWAY_API_KEYS or ALLOWED_HOSTS")
