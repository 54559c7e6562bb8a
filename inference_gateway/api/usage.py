"""Usage resource: the summary with a page of request-log rows, and one row by id."""
import re
from datetime import datetime, timedelta, timezone

from flask import Blueprint, request
from marshmallow import ValidationError, fields, validate, validates_schema

from inference_gateway import errors
from inference_gateway.store import usage
from inference_gateway.web.envelope import ok
from inference_gateway.web.virtual_keys import own_key_only
from inference_gateway.web.strict import StrictSchema
from inference_gateway.web.openapi import describe
from inference_gateway.api.replies import RequestReply, UsageReply
from inference_gateway.api.schemas import Cursor

bp = Blueprint("usage", __name__)

DATE_ONLY = re.compile(r"^\d{4}-?\d{2}-?\d{2}$")
MIN_YEAR, MAX_YEAR = 1970, 9000
TIME_ERROR = ("must be an ISO-8601 date (2026-03-01, a whole day in UTC) or date-time "
              "(2026-03-01T12:00:00Z; without an offset it is UTC)")


class UtcTime(fields.Field):
    """An ISO-8601 date or date-time, loaded as (naive UTC datetime, whether it was a date alone)."""

    default_error_messages = {"invalid": TIME_ERROR}
    openapi = {"type": "string", "description": TIME_ERROR, "examples": ["2026-03-01", "2026-03-01T12:00:00Z"]}

    def _deserialize(self, value, attr, data, **kwargs):
        text = str(value).strip()
        try:
            parsed = datetime.fromisoformat(text.replace("z", "Z"))
            if parsed.tzinfo is not None:
                parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
        except (ValueError, OverflowError):
            raise self.make_error("invalid") from None
        # Far enough from datetime's limits that a day or an hour can be added to it.
        if not MIN_YEAR <= parsed.year <= MAX_YEAR:
            raise ValidationError(f"must be between the years {MIN_YEAR} and {MAX_YEAR}")
        return parsed, bool(DATE_ONLY.match(text))


class UsageQuerySchema(StrictSchema):
    provider = fields.String(validate=validate.Length(min=1, max=64))
    since = UtcTime()
    until = UtcTime()
    model = fields.String(validate=validate.Length(min=1, max=300))
    endpoint = fields.String(validate=validate.OneOf(usage.ENDPOINTS, error="must be one of: {choices}"))
    status = fields.String(validate=validate.OneOf(usage.STATUSES, error="must be one of: {choices}"))
    key = fields.String(validate=validate.Length(min=1, max=16))
    limit = fields.Integer(load_default=50, validate=validate.Range(
        min=1, max=1000, error="must be between {min} and {max}"))
    cursor = Cursor(usage.decode_cursor)

    @validates_schema
    def _range(self, data, **kwargs):
        if "since" in data and "until" in data and bounds(data)[0] >= bounds(data)[1]:
            raise ValidationError("must not be before since", "until")


def bounds(data):
    """(since inclusive, until exclusive): a date alone covers its whole UTC day, `until` included."""
    since = data["since"][0] if "since" in data else None
    until = None
    if "until" in data:
        moment, date_only = data["until"]
        until = moment + (timedelta(days=1) if date_only else timedelta(microseconds=1))
    return since, until


usage_query = UsageQuerySchema()


def query_args():
    """The query string as one value per name; a repeated name is ambiguous, so it is a 400."""
    repeated = sorted(name for name, values in request.args.lists() if len(values) > 1)
    if repeated:
        raise errors.BadRequest(f"{repeated[0]}: give this parameter once")
    return request.args.to_dict()


@bp.get("/usage")
@describe("Usage summary, breakdowns and a page of request-log rows", query=UsageQuerySchema,
          reply=UsageReply, errors=[(404, errors.NOT_FOUND)])
def get_usage():
    data = usage_query.load(query_args())
    since, until = bounds(data)
    provider_id = usage.provider_id_for(data["provider"]) if "provider" in data else None
    filters = usage.Filters(provider_id=provider_id, since=since, until=until, model=data.get("model"),
                            endpoint=data.get("endpoint"), status=data.get("status"),
                            key_id=own_key_only() or data.get("key"))
    return ok(usage.query(filters, data["limit"], data.get("cursor")))


@bp.get("/requests/<request_id>")
@describe("One request-log row", reply=RequestReply)
def get_request(request_id):
    return ok(usage.to_dict(usage.get(request_id, own_key_only()), bodies=True))


@bp.record_once
def _retention(state):
    # Retention runs from the request path (a clock check), never at import or start-up.
    pruner = usage.Pruner(state.app.config.get("USAGE_RETENTION_DAYS") or 0)
    state.app.extensions["usage_pruner"] = pruner
    if pruner.days:
        @state.app.after_request
        def _maybe_prune(response):
            pruner.maybe_start()
            return response
