"""The dashboard's pages: overview, requests (and one request), providers, keys, sign-in.

Every page reads what /usage, /requests/<id>, /providers and /keys read (store.usage and its
rollup, provider_store, key_store); a caller's virtual key sees its own rows only, as on /usage."""
import importlib.util
import os
from datetime import timedelta

from flask import Blueprint, current_app, g, redirect, render_template, request, send_from_directory, url_for
from marshmallow import ValidationError, fields, validate, validates_schema

from inference_gateway import errors
from inference_gateway.gateway import health
from inference_gateway.store import key_store, provider_store, usage, usage_series
from inference_gateway.store.tables import utcnow
from inference_gateway.web import auth
from inference_gateway.web.dashboard import charts, session
from inference_gateway.web.envelope import as_gateway_error
from inference_gateway.web.query import UtcTime, bounds, query_args
from inference_gateway.web.strict import StrictSchema
from inference_gateway.web.virtual_keys import own_key_only, with_spend

bp = Blueprint("dashboard", __name__, template_folder="templates")

HERE = os.path.dirname(os.path.abspath(__file__))
OWN_ASSETS = frozenset({"dashboard.css", "dashboard.js"})
PLOTLY = "plotly.min.js"
# The picker's ranges: how far back from now, and the bucket their charts use.
RANGES = {"hour": (timedelta(hours=1), "hour"), "day": (timedelta(days=1), "hour"),
          "week": (timedelta(days=7), "day"), "month": (timedelta(days=30), "day")}
RANGE_LABELS = {"hour": "Last hour", "day": "Last 24 hours", "week": "Last 7 days", "month": "Last 30 days",
                "custom": "Custom"}
MAX_CUSTOM = timedelta(days=400)
HOURLY_UP_TO = timedelta(days=2)  # a custom range this short is drawn by the hour, longer by the day
PAGE_ROWS = 50


class PageQuery(StrictSchema):
    range = fields.String(load_default="day", validate=validate.OneOf(RANGE_LABELS, error="must be one of: {choices}"))
    since = UtcTime()
    until = UtcTime()
    provider = fields.String(validate=validate.Length(min=1, max=64))
    model = fields.String(validate=validate.Length(min=1, max=300))
    key = fields.String(validate=validate.Length(min=1, max=16))
    status = fields.String(validate=validate.OneOf(usage.STATUSES, error="must be one of: {choices}"))
    cursor = fields.String(validate=validate.Length(min=1, max=200))

    @validates_schema
    def _range(self, data, **kwargs):
        if data["range"] != "custom":
            for name in ("since", "until"):
                if name in data:
                    raise ValidationError("only with range=custom", name)
            return
        if "since" not in data:
            raise ValidationError("a custom range needs a start (an ISO-8601 date or date-time)", "since")
        since, until = bounds(data)
        until = until or utcnow()
        if since >= until:
            raise ValidationError("must be after since", "until")
        if until - since > MAX_CUSTOM:
            raise ValidationError(f"a range may span at most {MAX_CUSTOM.days} days", "until")


page_query = PageQuery()


class View:
    """A page's filters, loaded from its query string, and the store's Filters they mean."""

    def __init__(self, args):
        data = page_query.load({name: value for name, value in args.items() if value.strip()})
        self.data = data
        self.range = data["range"]
        if self.range == "custom":
            self.since, until = bounds(data)
            self.until = until or utcnow()
            self.bucket = "hour" if self.until - self.since <= HOURLY_UP_TO else "day"
        else:
            span, self.bucket = RANGES[self.range]
            self.until = utcnow()
            self.since = self.until - span
        own = own_key_only()
        self.key_locked = own is not None
        provider_id = usage.provider_id_for(data["provider"]) if "provider" in data else None
        self.filters = usage.Filters(provider_id=provider_id, since=self.since, until=self.until,
                                     model=data.get("model"), status=data.get("status"),
                                     key_id=own or data.get("key"))
        self.cursor = None
        if "cursor" in data:
            try:
                self.cursor = usage.decode_cursor(data["cursor"])
            except ValueError:
                raise errors.BadRequest("cursor: not a cursor this dashboard made; start from the first page") \
                    from None

    def args(self, **changes):
        """The page's query arguments with `changes` (None drops one): links keep the filters."""
        kept = {name: value for name, value in request.args.items() if value.strip() and name != "cursor"}
        kept.update(changes)
        return {name: value for name, value in kept.items() if value is not None}


def signed_in_page(view):
    return auth.session_signed_in(view)


@bp.before_request
def sign_in_required():
    view = current_app.view_functions.get(request.endpoint)
    if not getattr(view, auth.SESSION_ATTR, False):
        return None
    principal = session.current(current_app.extensions["dashboard_sign_in"])
    if principal is None:
        return redirect(url_for("dashboard.sign_in", next=request.full_path.rstrip("?")))
    if getattr(view, auth.ROLE_ATTR, auth.CALLER) == auth.ADMIN and not principal.is_admin:
        raise errors.Forbidden("the keys page is for admins: sign in with an admin key")
    return None


@bp.after_request
def page_headers(response):
    # Pages carry usage figures: never cached by a proxy; scripts and styles only from here.
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Content-Security-Policy",
                                "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                                "frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
    return response


@bp.context_processor
def page_context():
    sign_in = current_app.extensions["dashboard_sign_in"]
    return {"principal": g.get("principal"), "open_mode": sign_in.open, "csrf_token": session.csrf_token,
            "range_labels": RANGE_LABELS}


def key_names():
    """{key id: name} of the virtual keys this principal may see named."""
    principal = g.principal
    if principal.is_admin:
        return {row.id: row.name for row in key_store.list_all()}
    if principal.key_id:
        return {principal.key_id: principal.name}
    return {}


@bp.get("/")
@signed_in_page
def overview():
    view = View(query_args())
    totals = usage.summarize(view.filters)
    names = {row["providerId"]: row["provider"] for row in totals["byProvider"]}
    starts = usage_series.bucket_starts(view.since, view.until, view.bucket)
    points = usage_series.series(view.filters, view.bucket)
    recent = usage_series.recent_calls(view.filters, current_app.config["DASHBOARD_SAMPLE_ROWS"])
    chart_data = {**charts.over_time(starts, points, names, view.bucket),
                  "latency": charts.latency_bars(recent["byProvider"], names),
                  "errorMix": charts.error_mix(recent["errorCodes"])}
    return render_template("dashboard/overview.html", view=view, totals=totals, recent=recent, charts=chart_data,
                           keys=key_names(), providers=provider_store.list_all(), page="overview")


@bp.get("/requests")
@signed_in_page
def requests_page():
    view = View(query_args())
    rows, next_cursor = usage.page(view.filters, PAGE_ROWS, view.cursor)
    return render_template("dashboard/requests.html", view=view, rows=[usage.to_dict(row) for row in rows],
                           next_cursor=next_cursor, keys=key_names(), providers=provider_store.list_all(),
                           page="requests")


@bp.get("/requests/<request_id>")
@signed_in_page
def request_detail(request_id):
    row = usage.to_dict(usage.get(request_id, own_key_only()), bodies=True)
    return render_template("dashboard/request.html", row=row, keys=key_names(), page="requests",
                           log_bodies=current_app.config["LOG_BODIES"])


@bp.get("/providers")
@signed_in_page
def providers_page():
    synced = provider_store.synced_models()
    rows = provider_store.list_all()
    # What GET /providers answers: each provider's last five minutes (issue 18's health).
    found = health.read([p.id for p in rows], current_app.extensions.get("breakers"))
    providers = []
    for provider in rows:
        count, last_sync = synced.get(provider.id, (0, None))
        providers.append({**provider_store.to_dict(provider), "health": found.get(provider.id), "modelCount": count,
                          "lastSync": usage_series.as_datetime(last_sync) if last_sync else None})
    return render_template("dashboard/providers.html", providers=providers, page="providers")


@bp.get("/keys")
@auth.admin_required
@signed_in_page
def keys_page():
    rows = key_store.list_all()
    used = usage_series.last_use([row.id for row in rows])
    keys = [{**with_spend(row), "lastUsed": used.get(row.id)} for row in rows]
    return render_template("dashboard/keys.html", keys=keys, page="keys")


@bp.route("/sign-in", methods=["GET", "POST"])
@auth.public
def sign_in():
    sign_in = current_app.extensions["dashboard_sign_in"]
    target = safe_next(request.values.get("next"))
    if sign_in.open:
        return redirect(target)
    if not sign_in.ready():
        raise errors.ServiceUnavailable(sign_in.problem)
    error = None
    if request.method == "POST":
        session.check_csrf()
        try:
            g.principal = sign_in.sign_in(request.form.get("key"))
            return redirect(target, 303)
        except errors.Unauthorized as exc:
            error = exc.message
    return render_template("dashboard/sign_in.html", error=error, next=target, page="sign-in"), 401 if error else 200


@bp.post("/sign-out")
@auth.public
def sign_out():
    if not current_app.extensions["dashboard_sign_in"].ready():
        raise errors.ServiceUnavailable(current_app.extensions["dashboard_sign_in"].problem)
    session.check_csrf()
    from flask import session as cookie

    cookie.clear()
    return redirect(url_for("dashboard.sign_in"), 303)


@bp.route("/<path:rest>", methods=["GET", "POST"])
@auth.public
def no_such_page(rest):
    """A mistyped dashboard address is a page saying so (the API's 404 is JSON)."""
    raise errors.NotFound("no such dashboard page: the overview, requests, providers and keys pages are in the "
                          "menu above")


def safe_next(value):
    """Where to go after signing in: a dashboard path only (never another site)."""
    if value and value.startswith("/dashboard") and not value.startswith("//") and "\\" not in value:
        return value
    return url_for("dashboard.overview")


@bp.get("/assets/<name>")
@auth.public
def asset(name):
    if name in OWN_ASSETS:
        return send_from_directory(os.path.join(HERE, "static"), name, max_age=300)
    if name == PLOTLY:
        return send_from_directory(plotly_dir(), name, max_age=86400)
    raise errors.NotFound(f"no such asset: {name}")


def plotly_dir():
    """plotly.js as the `plotly` package ships it (the gateway serves it: no CDN)."""
    spec = importlib.util.find_spec("plotly")
    if spec is None:
        raise errors.NotFound("the dashboard's charts need the plotly package: pip install plotly")
    return os.path.join(list(spec.submodule_search_locations)[0], "package_data")


@bp.app_template_filter("compact")
def compact(value):
    """1234 -> 1,234; 1234567 -> 1.23M: a count a person reads at a glance."""
    if value is None:
        return "–"
    value = float(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e5, "k")):
        if abs(value) >= limit:
            return f"{value / (limit if suffix != 'k' else 1e3):.3g}{suffix}"
    return f"{value:,.0f}"


@bp.app_template_filter("usd")
def usd(value):
    if value is None:
        return "–"
    if value == 0:
        return "$0"
    return f"${value:,.2f}" if abs(value) >= 1 else f"${value:.4f}".rstrip("0")


@bp.app_template_filter("ms")
def ms(value):
    if value is None:
        return "–"
    return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:,.0f} ms"


@bp.app_template_filter("pct")
def pct(part, whole):
    if not whole:
        return "–"
    share = 100.0 * part / whole
    return f"{share:.1f}%" if share < 10 else f"{share:.0f}%"


@bp.app_template_filter("when")
def when(value):
    """A stored time (naive UTC, or the API's ISO text) as 'YYYY-MM-DD HH:MM:SS UTC'."""
    if not value:
        return "–"
    moment = usage_series.as_datetime(value.rstrip("Z") if isinstance(value, str) else value)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


@bp.errorhandler(Exception)
def error_page(exc):
    """Any failure on a page as a page (the API's envelope is for programs), with the same status."""
    err = as_gateway_error(exc)
    if err.status == 401:
        return redirect(url_for("dashboard.sign_in"))
    response = current_app.make_response(
        (render_template("dashboard/error.html", error=err, details=err.details or {}, page="error"), err.status))
    response.headers.update(err.headers)
    return response
