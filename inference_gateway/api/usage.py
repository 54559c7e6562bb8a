"""Usage resource: the summary with a page of request-log rows, and one row by id."""
from flask import Blueprint
from marshmallow import ValidationError, fields, validate, validates_schema

from inference_gateway import errors
from inference_gateway.store import usage
from inference_gateway.web.envelope import ok
from inference_gateway.web.virtual_keys import own_key_only
from inference_gateway.web.strict import StrictSchema
from inference_gateway.web.query import UtcTime, bounds, query_args
from inference_gateway.web.openapi import describe
from inference_gateway.api.replies import RequestReply, UsageReply
from inference_gateway.api.schemas import Cursor

bp = Blueprint("usage", __name__)


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


usage_query = UsageQuerySchema()


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
