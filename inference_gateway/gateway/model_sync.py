"""Synced models: make a provider's rows match its upstream listing in one transaction, and list them."""
import base64
import bisect
import json
import logging
from contextlib import closing, contextmanager
from dataclasses import dataclass
from typing import Optional
from datetime import datetime

from peewee import SqliteDatabase, chunked

from inference_gateway import errors
from inference_gateway.store import resolve_cache
from inference_gateway.store.db import database, release
from inference_gateway.store.tables import Provider, ProviderModel, new_id, utcnow
from inference_gateway.store.provider_store import iso

log = logging.getLogger(__name__)

# Rows per statement: 6 parameters each stays far below SQLite's limit on bound variables.
BATCH = 100
MODEL_ID_MAX = ProviderModel.model_id.max_length
DISPLAY_NAME_MAX = ProviderModel.display_name.max_length
# Where our API names a type's models differently from its upstream. Zen's are `opencode/ID`
# here: stored bare, a synced Zen `claude-*` or `gpt-*` would take those ids from the Anthropic
# and OpenAI providers, since synced ids resolve before the prefix table.
API_PREFIX = {"opencode": "opencode/"}


@dataclass
class SyncResult:
    provider: Provider
    added: int
    removed: int
    models: list


def listed_models(provider, adapter, max_models):
    """The upstream's whole list as {model id: ModelInfo}, every page; repeats and unstorable ids left
    out. More than `max_models` is a 502, read no further: a provider's list is stored and listed
    whole, so its size must not be the provider's choice, and the adapter yields the models as it
    reads them, so a refusal costs the first `max_models` (and the connection is closed at once)."""
    prefix = API_PREFIX.get(provider.type, "")
    listed = {}
    with closing(adapter.list_models()) as models:
        for info in models:
            if len(listed) >= max_models and info.model_id not in listed and prefix + info.model_id not in listed:
                raise errors.UpstreamError(
                    f"provider '{provider.name}' lists more than {max_models:,} models, the gateway's limit "
                    "(MAX_SYNCED_MODELS); nothing was stored")
            model_id = info.model_id if info.model_id.startswith(prefix) else prefix + info.model_id
            if len(model_id) > MODEL_ID_MAX:
                log.warning("provider %s lists a model id longer than %d characters; skipped: %.80s...",
                            provider.name, MODEL_ID_MAX, model_id)
                continue
            listed.setdefault(model_id, info)
    return listed


@contextmanager
def _holding(provider):
    """A write transaction holding the provider row: a concurrent sync of it, or its deletion, waits."""
    sqlite = isinstance(database.obj, SqliteDatabase)
    # SQLite takes the write lock up front: a read transaction that later writes fails at once
    # with SQLITE_BUSY when another writer got in between, whatever the busy timeout.
    with (database.atomic("IMMEDIATE") if sqlite else database.atomic()):
        query = Provider.select(Provider.id).where(Provider.id == provider.id)
        if query.for_update(not sqlite).first() is None:
            raise errors.NotFound(f"provider '{provider.name}' was deleted during the sync; nothing was stored")
        yield


def _row(provider, model_id, info, row_id, now):
    return {"id": row_id or new_id(8), "provider": provider.id, "model_id": model_id,
            "display_name": (info.display_name or None) and info.display_name[:DISPLAY_NAME_MAX],
            "capabilities": ",".join(info.capabilities or []), "synced_at": now}


def sync(provider, adapter, max_models):
    """Fetch the provider's whole list, then upsert it and delete what it no longer lists, in one
    transaction: a failure anywhere (upstream, page, database) leaves the table as it was."""
    # The listing may take many pages: give the pooled connection back while waiting on them
    # (the transaction below takes one again).
    release()
    listed = listed_models(provider, adapter, max_models)
    now = utcnow()
    with _holding(provider):
        existing = dict(ProviderModel.select(ProviderModel.model_id, ProviderModel.id)
                        .where(ProviderModel.provider == provider.id).tuples())
        gone = [row_id for model_id, row_id in existing.items() if model_id not in listed]
        for batch in chunked(gone, BATCH):
            ProviderModel.delete().where(ProviderModel.id.in_(batch)).execute()
        rows = [_row(provider, model_id, info, existing.get(model_id), now) for model_id, info in listed.items()]
        for batch in chunked(rows, BATCH):
            (ProviderModel.insert_many(batch)
             .on_conflict(conflict_target=[ProviderModel.provider, ProviderModel.model_id],
                          preserve=[ProviderModel.display_name, ProviderModel.capabilities,
                                    ProviderModel.synced_at])
             .execute())
        models = list_models(provider)
    resolve_cache.changed()
    added = sum(1 for model_id in listed if model_id not in existing)
    return SyncResult(provider, added, len(gone), models)


def list_models(provider=None):
    """Synced models, of one provider or all, grouped by provider in registration order."""
    query = ProviderModel.select(ProviderModel, Provider).join(Provider)
    if provider is not None:
        query = query.where(ProviderModel.provider == provider.id)
    # Sorted here: SQLite and PostgreSQL collate ids like `gpt-4o-mini` differently.
    return sorted(query, key=lambda row: (row.provider.created, row.provider.id, row.model_id))


def _key(row):
    return row.provider.created, row.provider.id, row.model_id


def page(provider, limit, after=None):
    """(`limit` synced models after the cursor `after`, in list_models' order; the next page's cursor or
    None). The list is at most MAX_SYNCED_MODELS a provider, so it is ordered here, as list_models does."""
    rows = list_models(provider)
    start = bisect.bisect_right([_key(row) for row in rows], after) if after is not None else 0
    chosen = rows[start:start + limit]
    more = start + limit < len(rows)
    return chosen, encode_cursor(_key(chosen[-1])) if more and chosen else None


def encode_cursor(key):
    created, provider_id, model_id = key
    raw = json.dumps([created.isoformat(), provider_id, model_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(value):
    """The key a cursor names; ValueError when it is not one encode_cursor made."""
    try:
        created, provider_id, model_id = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
        return datetime.fromisoformat(created), str(provider_id), str(model_id)
    except (TypeError, ValueError, UnicodeDecodeError) as exc:
        raise ValueError("not a models cursor") from exc


def to_dict(row):
    return {
        "id": row.id,
        "providerId": row.provider.id,
        "provider": row.provider.name,
        "modelId": row.model_id,
        "displayName": row.display_name,
        "capabilities": [c for c in row.capabilities.split(",") if c],
        "syncedAt": iso(row.synced_at),
    }


def result_dict(result):
    models = [to_dict(row) for row in result.models]
    return {"provider": result.provider.name, "providerId": result.provider.id, "added": result.added,
            "removed": result.removed, "total": len(models), "models": models}


@dataclass
class RouteModel:
    """A route as the model lists show it (a synced model row's attributes)."""

    model_id: str
    synced_at: datetime
    display_name: Optional[str] = None
    provider: object = None


@dataclass
class _Owner:
    name: str


ROUTE_OWNER = _Owner("gateway-route")


def route_dict(row):
    """A route as GET /models lists it (before the synced models, on the first page)."""
    return {"id": "route:" + row.id, "providerId": None, "provider": None, "modelId": row.name,
            "displayName": None, "capabilities": ["chat"], "syncedAt": iso(row.created), "route": row.strategy}


def with_routes(rows, routes):
    """The compatible surfaces' model list: routes first (a route's name wins over a synced id)."""
    return [RouteModel(r.name, r.created, None, ROUTE_OWNER) for r in routes] + list(rows)
