"""Marshmallow schemas for the models resource: the sync body and the listing's query string."""
from marshmallow import ValidationError, fields, validate

from inference_gateway.web.strict import StrictSchema

MISSING_PROVIDER = ('is required: send {"provider": "<id or name>"} as JSON, '
                    "or ?provider=<id or name> in the URL")


class ProviderRefSchema(StrictSchema):
    """`provider` (id or name), the only field; anything else is a mistake worth reporting."""
    provider = fields.String(validate=validate.Length(min=1, max=64, error="must be a provider id or name"))


provider_ref_schema = ProviderRefSchema()


def sync_target(body, args):
    """The provider a sync names, from the JSON body and/or ?provider= (which must then agree)."""
    from_body = provider_ref_schema.load(body).get("provider") if body is not None else None
    from_query = provider_ref_schema.load(args.to_dict()).get("provider")
    if from_body and from_query and from_body.strip().lower() != from_query.strip().lower():
        raise ValidationError({"provider": [f"given twice and differently ('{from_body}' in the body, "
                                            f"'{from_query}' in the URL): give it once"]})
    ref = from_body or from_query
    if not ref:
        raise ValidationError({"provider": [MISSING_PROVIDER]})
    return ref


def listing_filter(args):
    """The provider id or name the listing is filtered by, or None for every provider."""
    return provider_ref_schema.load(args.to_dict()).get("provider")
