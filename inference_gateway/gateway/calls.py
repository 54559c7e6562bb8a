"""The frame every proxied call runs in, whatever the surface: its log row and its provider."""
from contextlib import contextmanager

from inference_gateway import errors
from inference_gateway.gateway import routing
from inference_gateway.gateway.resolve import resolve
from inference_gateway.store import db, provider_store, request_log
from inference_gateway.types import Route


@contextmanager
def recorded(record):
    """Run one call: a failure is noted on `record`, a database outage becomes a 503, and the row
    is written when the block ends (unless a stream took it over and writes it when it ends)."""
    try:
        try:
            yield record
        except db.DATABASE_DOWN as exc:
            raise errors.database_unavailable(exc) from exc
    except errors.GatewayError as exc:
        record.fail(exc)
        raise
    except Exception:
        record.fail(errors.GatewayError("internal error"))
        raise
    finally:
        if not record.deferred or record.status != request_log.SUCCESS:
            request_log.write(record)


def open_adapter(record, model, provider_ref, cache, settings, prices=None, gate=None, key=None, data=None,
                 router=None):
    """Resolve the provider for this call and return (provider, model, adapter), noting them on the record.
    With a virtual `key`, the call must pass its lists and limits first (`gate`, gateway/admission.py;
    `data` is the request body its tokens are estimated from). A model naming a route gives a
    RouteCall as the adapter (gateway/routing.py), the route's name as the model."""
    requested = record.model = model
    # The upstream may take minutes (a slow first byte, a long stream): holding a pooled
    # connection that long let a burst of streams exhaust the pool. The log row takes its own.
    with db.brief():
        provider, model = resolve(model, provider_ref, cache)
        if type(provider) is Route:
            return open_route(record, provider, cache, router, gate, key, data)
    record.set_provider(provider, model)
    if prices is not None:
        record.price = prices.lookup(model, provider.type)
    if key is not None and gate is not None:
        gate.admit(record, key, provider, model, requested, data)
    adapter = provider_store.adapter_for(provider, settings)
    record.adapter = adapter
    return provider, model, adapter


def open_route(record, route, cache, router, gate, key, data):
    """A routed call: its targets resolved (and filtered by the key), the key's limits reserved
    once against the first target's price, and the RouteCall that tries them."""
    if router is None:
        raise errors.BadRequest(f"'{route.name}' is a route, and this endpoint does not take routes")
    call = routing.open_route(router, record, route, cache, resolve, key)
    first = call.candidates[0]
    record.set_provider(first.provider, first.model)
    if router.prices is not None:
        record.price = router.prices.lookup(first.model, first.provider.type)
    if key is not None and gate is not None:
        gate.admit(record, key, first.provider, first.model, route.name, data, lists=False)
    record.adapter = call
    return routing.ServedProvider(call), route.name, call
