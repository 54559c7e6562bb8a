"""Synced models: make a provider's rows match its upstream listing in one transaction, and list them."""
import logging
from contextlib import contextmanager
from dataclasses import dataclass

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


def listed_models(provider, adapter):
    """The upstream's whole list as {model id: ModelInfo}, every page; repeats and unstorable ids left out."""
    prefix = API_PREFIX.get(provider.type, "")
    listed = {}
    for info in adapter.list_models():
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


def sync(provider, adapter):
    """Fetch the provider's whole list, then upsert it and delete what it no longer lists, in one
    transaction: a failure anywhere (upstream, page, database) leaves the table as it was."""
    # The listing may take many pages: give the pooled connection back while waiting on them
    # (the transaction below takes one again).
    release()
    listed = listed_models(provider, adapter)
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
