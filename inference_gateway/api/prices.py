"""Prices: the price that applies to a model and where it comes from."""
from flask import Blueprint, current_app, request
from marshmallow import fields, validate

from inference_gateway import errors
from inference_gateway.gateway.resolve import resolve
from inference_gateway.web.strict import StrictSchema
from inference_gateway.web.envelope import ok
from inference_gateway.web.openapi import describe
from inference_gateway.api.replies import PriceReply

bp = Blueprint("prices", __name__)


class PriceQuerySchema(StrictSchema):
    model = fields.String(required=True, validate=validate.Length(min=1, max=300))
    provider = fields.String(validate=validate.Length(min=1, max=64))


price_query = PriceQuerySchema()


@bp.get("/prices")
@describe("The price that applies to a model, and its source", query=PriceQuerySchema, reply=PriceReply,
          tags=["usage"], errors=[(404, errors.NOT_FOUND)])
def get_price():
    """Role: caller. The model is resolved as a call would be (so `openai/gpt-4o` is priced as the
    model the provider is sent); a model no provider serves is looked up by its name alone."""
    data = price_query.load(request.args.to_dict())
    model, provider_type = data["model"], None
    try:
        provider, model = resolve(data["model"], data.get("provider"), current_app.extensions["resolve_cache"])
        provider_type = provider.type
    except errors.NoProvider:
        if "provider" in data:
            raise
    table = current_app.extensions["prices"]
    price = table.lookup(model, provider_type)
    if price is None:
        return ok({"model": model, "providerType": provider_type, "price": None, "source": None,
                   "message": f"no price for '{model}': calls to it cost null; add it to PRICES_FILE "
                              "(USD per million tokens) to price it"})
    return ok({"model": model, "providerType": provider_type, "matchedModel": price.model,
               "price": {**price.describe(), "unit": "USD per million tokens"}, **table.source_name(price)})
