"""Virtual keys resource (admin): create (the secret shown once), list, read, change, revoke."""
from flask import Blueprint
from marshmallow import fields, validate

from inference_gateway.store import key_store
from inference_gateway.web import auth
from inference_gateway import errors
from inference_gateway.web.envelope import ok
from inference_gateway.web.openapi import describe
from inference_gateway.api.replies import KeyReply, KeyWithSpendReply, NewKeyReply
from inference_gateway.web.strict import StrictSchema
from inference_gateway.web.body import json_body
from inference_gateway.web.virtual_keys import with_spend

bp = Blueprint("keys", __name__)

POSITIVE = validate.Range(min=1, max=2 ** 31 - 1, error="must be a whole number from {min} to {max}")


class KeySchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    role = fields.String(load_default="caller", validate=validate.OneOf(
        (auth.CALLER, auth.ADMIN), error="must be one of: {choices}"))
    models = fields.List(fields.String(validate=validate.Length(min=1, max=300)), allow_none=True,
                         validate=validate.Length(max=200))
    providers = fields.List(fields.String(validate=validate.Length(min=1, max=64)), allow_none=True,
                            validate=validate.Length(max=200))
    rpm = fields.Integer(strict=True, allow_none=True, validate=POSITIVE)
    tpm = fields.Integer(strict=True, allow_none=True, validate=POSITIVE)
    max_concurrent = fields.Integer(data_key="maxConcurrent", strict=True, allow_none=True, validate=POSITIVE)
    budget_usd = fields.Float(data_key="budgetUsd", allow_none=True, allow_nan=False, validate=validate.Range(
        min=0, max=1e9, error="must be a number of US dollars from {min} to {max}"))
    budget_period = fields.String(data_key="budgetPeriod", load_default="total", validate=validate.OneOf(
        ("day", "month", "total"), error="must be one of: {choices}"))
    expires_at = fields.AwareDateTime(data_key="expiresAt", allow_none=True, default_timezone=None,
                                      error_messages={"invalid": "must be an ISO-8601 date-time with an offset, "
                                                                 "e.g. 2027-01-01T00:00:00Z"})
    metadata = fields.Dict(keys=fields.String(), allow_none=True)


class KeyChangeSchema(KeySchema):
    """PUT /keys/<id>: any of the fields; only those the body names change."""

    name = fields.String(validate=validate.Length(min=1, max=200))


key_schema = KeySchema()
key_change_schema = KeyChangeSchema()


def naive_utc(data):
    if data.get("expires_at") is not None:
        from datetime import timezone
        data["expires_at"] = data["expires_at"].astimezone(timezone.utc).replace(tzinfo=None)
    return data


@bp.post("/keys")
@describe("Create a virtual key (the secret is in this answer only)", body=KeySchema, reply=NewKeyReply,
          status=201, tags=["keys"])
@auth.admin_required
def create_key():
    row, secret = key_store.create(naive_utc(key_schema.load(json_body())))
    # The only time the secret is shown: it is stored as a hash.
    return ok({"key": secret, **key_store.to_dict(row)}, 201)


@bp.get("/keys")
@describe("List virtual keys (never their secrets)", reply=KeyReply, many=True, tags=["keys"])
@auth.admin_required
def list_keys():
    return ok([key_store.to_dict(row) for row in key_store.list_all()])


@bp.get("/keys/<key_id>")
@describe("One virtual key, with its spend this budget period", reply=KeyWithSpendReply, tags=["keys"],
          errors=[(404, errors.NOT_FOUND)])
@auth.admin_required
def get_key(key_id):
    return ok(with_spend(key_store.get(key_id)))


@bp.put("/keys/<key_id>")
@describe("Change a virtual key (every instance applies it within a second)", body=KeyChangeSchema, reply=KeyReply,
          tags=["keys"], errors=[(404, errors.NOT_FOUND), (409, errors.CONFLICT)])
@auth.admin_required
def update_key(key_id):
    row = key_store.get(key_id)
    body = json_body()
    loaded = naive_utc(key_change_schema.load(body))
    # Only what the body names changes (the load fills in the create defaults).
    data = {name: value for name, value in loaded.items()
            if (key_change_schema.fields[name].data_key or name) in body}
    return ok(key_store.to_dict(key_store.update(row, data)))


@bp.delete("/keys/<key_id>")
@describe("Revoke a virtual key (kept, with revokedAt, for its usage history)", reply=KeyReply, tags=["keys"],
          errors=[(404, errors.NOT_FOUND)])
@auth.admin_required
def revoke_key(key_id):
    return ok(key_store.to_dict(key_store.revoke(key_store.get(key_id))))
