"""Virtual keys on the call path: a short per-process cache of their records, and when they work."""
import json
import time
from dataclasses import dataclass
from typing import Optional

from inference_gateway import errors
from inference_gateway.store import key_store
from inference_gateway.store.limit_counters import NANO, Limits
from inference_gateway.store.tables import utcnow

MAX_ENTRIES = 4096


@dataclass(frozen=True)
class KeyInfo:
    """What a call needs to know about its virtual key (a snapshot of its row)."""

    id: str
    name: str
    role: str
    models: Optional[tuple]
    providers: Optional[tuple]
    limits: Limits
    expires_at: object = None
    revoked_at: object = None


def info_of(row):
    budget = None if row.budget_usd is None else int(round(row.budget_usd * NANO))
    models, providers = key_store.loads(row.models), key_store.loads(row.providers)
    return KeyInfo(row.id, row.name, row.role, tuple(models) if models is not None else None,
                   tuple(p.lower() for p in providers) if providers is not None else None,
                   Limits(row.rpm, row.tpm, row.max_concurrent, budget, row.budget_period or "total"),
                   row.expires_at, row.revoked_at)


class KeyCache:
    """Key records by secret digest, each kept `seconds` (so a revocation or a change made on
    another instance applies there within that time); a change made by this process drops every
    entry at once. Unknown keys are kept too, so a flood of wrong keys does not reach the database."""

    def __init__(self, seconds=0.5, clock=time.monotonic):
        self.seconds, self.clock = seconds, clock
        self._entries = {}

    def get(self, secret):
        hashed = key_store.digest(secret)
        now, generation = self.clock(), key_store.generation
        entry = self._entries.get(hashed)
        if entry is not None and entry[0] > now and entry[1] == generation:
            return entry[2]
        row = key_store.by_digest(hashed)
        info = info_of(row) if row is not None else None
        if len(self._entries) >= MAX_ENTRIES:
            self._entries = {}
        self._entries[hashed] = (now + self.seconds, generation, info)
        return info


def check_usable(info, now=None):
    """401 for a revoked or expired key."""
    if info.revoked_at is not None:
        raise errors.Unauthorized(f"this key ('{info.name}', id {info.id}) was revoked")
    if info.expires_at is not None and info.expires_at <= (now or utcnow()):
        raise errors.Unauthorized(f"this key ('{info.name}', id {info.id}) expired at "
                                  f"{info.expires_at.isoformat()}Z")


def describe_list(values):
    return json.dumps(list(values)) if values else "none"
