"""Which provider serves a request: explicit providerId, `name/model`, a synced model, or the prefix table."""
import re

from inference_gateway import errors
from inference_gateway.store import provider_store, route_store
from inference_gateway.store.tables import Provider, ProviderModel

# The reference's auto-resolution table, widened to the families each provider serves today.
PREFIX_TABLE = [
    (re.compile(r"^claude"), "anthropic"),
    (re.compile(r"^(gpt-|o1|o3|o4|chatgpt-|text-embedding-3|dall-e-|whisper-1$)"), "openai"),
    (re.compile(r"^gpt-4o.*transcribe"), "openai"),
    (re.compile(r"^(gemini|text-embedding-004$)"), "google"),
    (re.compile(r"^opencode/"), "opencode"),
]


def type_for_model(model):
    for pattern, kind in PREFIX_TABLE:
        if pattern.search(model):
            return kind
    return None


def _strip_own_prefix(provider, model):
    """`openai/gpt-4o` sent to the provider named `openai` means `gpt-4o`."""
    head, sep, tail = model.partition("/")
    if sep and tail and head.lower() in (provider.name_key, provider.type):
        return tail
    return model


def _synced_provider(model):
    order = [Provider.created, Provider.id]
    kind = type_for_model(model)
    if kind:
        # When several providers list the id (OpenAI and a proxy both listing `gpt-4o`), the one
        # of the type the prefix table names keeps it, whichever was registered first.
        order.insert(0, (Provider.type == kind).desc())
    row = (ProviderModel.select(ProviderModel, Provider).join(Provider)
           .where(ProviderModel.model_id == model)
           .order_by(*order).first())
    return row.provider if row else None


def resolve(model=None, provider_ref=None, cache=None, routes=True):
    """Return (provider row, model id to send upstream) or raise a 4xx GatewayError; a model that
    names a route gives (its types.Route, None) unless `routes` is false (a route's own targets).
    With a ResolveCache, a resolution it holds is returned without a query, and a new one is kept."""
    if cache is None:
        return _resolve(model, provider_ref, routes)
    key, stamp = ((model, provider_ref) if routes else (model, provider_ref, False)), cache.stamp()
    found = cache.get(key, stamp)
    if found is None:
        found = _resolve(model, provider_ref, routes)
        cache.put(key, found, stamp)
    return found


def _resolve(model, provider_ref, routes=True):
    model = (model or "").strip() or None
    if provider_ref:
        provider = provider_store.get(provider_ref)
        model = model or provider.default_model
        if not model:
            raise errors.BadRequest(
                f"model is required: provider '{provider.name}' has no defaultModel")
        return provider, _strip_own_prefix(provider, model)
    if not model:
        raise errors.BadRequest("model is required")

    head, sep, tail = model.partition("/")
    if routes and not sep:
        # Route names have no '/' and may not be a provider's name: a route never hides a provider.
        route = route_store.find(model)
        if route is not None:
            return route, None
    if sep and tail:
        named = provider_store.find(head)
        if named is not None and named.name_key == head.lower():
            return named, tail

    synced = _synced_provider(model)
    if synced is not None:
        return synced, model

    kind = type_for_model(model)
    if kind is None:
        raise errors.NoProvider(
            f"no provider serves model '{model}': pass providerId, write the model as "
            "'<provider name>/<model>', or sync the provider's models")
    provider = provider_store.first_of_type(kind)
    if provider is None:
        raise errors.NoProvider(
            f"model '{model}' needs a provider of type '{kind}', and none is registered: "
            f"register one with POST /api/v1/inference/providers and \"type\": \"{kind}\"")
    return provider, _strip_own_prefix(provider, model)
