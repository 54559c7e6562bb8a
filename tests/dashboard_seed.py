"""Request-log rows for the dashboard's tests: two providers, two virtual keys and static-key calls,
spread over the last day (plus a few days back), with errors, streams and costs, written as the
request log's own inserts (the rollup triggers keep their counters)."""
import re
from dataclasses import dataclass, field
from datetime import timedelta

from inference_gateway import cli
from inference_gateway.store import db, key_store
from inference_gateway.store.tables import ProviderModel, RequestLog, utcnow

SYNCED_AGO = timedelta(hours=2)
MODELS = {"openai": ("gpt-4o", "gpt-4o-mini"), "anthropic": ("claude-sonnet-4-20250514",)}


@dataclass
class Seeded:
    providers: dict  # name -> id
    keys: dict  # name -> (id, secret)
    rows: list = field(default_factory=list)  # the inserted rows (dicts)
    now: object = None  # the time the rows are placed back from

    def of_key(self, key_id):
        return [row for row in self.rows if row["key_id"] == key_id]


def seed(count=120, now=None):
    """Insert `count` rows from 10 minutes ago back about 22 hours, and 6 more 3 days back.
    Needs an app context (the app's database)."""
    now = now or utcnow()
    with db.connection():
        providers = {name: cli.ensure_provider(name).id for name in ("openai", "anthropic")}
    keys = {}
    for name, budget in (("team-a", 5.0), ("team-b", None)):
        row, secret = key_store.create({"name": name, "role": "caller", "budget_usd": budget, "budget_period": "month",
                                        "rpm": 600, "tpm": 100000})
        keys[name] = (row.id, secret)
    seeded = Seeded(providers, keys, now=now)
    key_cycle = [keys["team-a"][0], keys["team-b"][0], keys["team-a"][0], keys["team-b"][0], None]
    for i in range(count + 6):
        provider = "anthropic" if i % 3 == 2 else "openai"
        minutes = 10 + i * 11 if i < count else 3 * 24 * 60 + (i - count) * 30
        error = "UPSTREAM_ERROR" if i % 10 == 7 else "RATE_LIMITED" if i % 15 == 4 else None
        stream = i % 4 == 0
        models = MODELS[provider]
        seeded.rows.append({
            "id": f"seed{i:04d}", "created": now - timedelta(minutes=minutes), "provider_id": providers[provider],
            "provider_name": provider, "model": models[i % len(models)], "endpoint": "chat_stream" if stream else "chat",
            "status": "error" if error else "success", "http_status": 502 if error == "UPSTREAM_ERROR" else
            429 if error else 200, "input_tokens": 0 if error else 100 + i, "output_tokens": 0 if error else 50 + i,
            "duration_ms": 40 + i if error else 300 + 7 * i, "ttft_ms": 80 + i if stream and not error else None,
            "stream": stream, "error_code": error, "error_message": f"{error}: seeded" if error else None,
            "key_id": key_cycle[i % len(key_cycle)], "cost_usd": 0 if error else round(0.001 * (i % 7 + 1), 6),
            "request_id": f"req-{i:04d}"})
    with db.connection(), db.database.atomic():
        RequestLog.insert_many(seeded.rows).execute()
        # openai's models as a sync two hours ago stored them; anthropic was never synced.
        ProviderModel.insert_many([{"provider": providers["openai"], "model_id": model, "synced_at": now - SYNCED_AGO}
                                   for model in ("gpt-4o", "gpt-4o-mini", "o3")]).execute()
    return seeded


CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html):
    return CSRF.search(html).group(1)
