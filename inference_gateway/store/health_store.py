"""The provider_health table: each process's per-minute counts of its calls to each provider."""
from inference_gateway.store import db
from inference_gateway.store.tables import ProviderHealth

_COLUMNS = ("provider_id", "minute", "worker", "calls", "errors", "latency", "ttft", "last_error",
            "last_error_at", "open_until")


def save(worker, rows, prune_before=None):
    """Store this process's minutes (each replaces its earlier version), in one transaction; drop
    minutes older than `prune_before` (any process's)."""
    if not rows and prune_before is None:
        return
    with db.brief(), db.database.atomic():
        for row in rows:
            values = {**row, "worker": worker}
            (ProviderHealth.insert(**values)
             .on_conflict(conflict_target=[ProviderHealth.minute, ProviderHealth.provider_id, ProviderHealth.worker],
                          update={getattr(ProviderHealth, name): values[name] for name in _COLUMNS[3:]})
             .execute())
        if prune_before is not None:
            ProviderHealth.delete().where(ProviderHealth.minute < prune_before).execute()


def load(provider_ids, since_minute):
    """Every process's rows for these providers from `since_minute` on."""
    if not provider_ids:
        return []
    with db.brief():
        return list(ProviderHealth.select().where(ProviderHealth.minute >= since_minute,
                                                  ProviderHealth.provider_id.in_(list(provider_ids))))

