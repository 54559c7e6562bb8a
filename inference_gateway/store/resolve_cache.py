"""Recent resolutions (model, providerId -> provider), so a call needs no provider query.

A change this process makes to the catalog (providers, synced models) drops every entry at once:
the writer bumps `generation` after its commit. A change made by another worker or instance
applies here when the entry expires, after PROVIDER_CACHE_SECONDS. Failures are never kept, so a
provider registered anywhere serves its first call at once."""
import time

from inference_gateway.store.db import database

# Entries kept at most; a flood of distinct model names empties the cache rather than growing it.
MAX_ENTRIES = 4096

_generation = 0


def changed():
    """Call after committing a change to providers or their models."""
    global _generation
    _generation += 1


class ResolveCache:
    """Entries kept `seconds` (> 0; with 0 the app has no cache and resolves every call) by
    `clock` (monotonic seconds; a test passes its own)."""

    def __init__(self, seconds, clock=time.monotonic):
        self.seconds = seconds
        self.clock = clock
        self._entries = {}
        self._stamp = None

    def stamp(self):
        """What entries are valid for: this database and the catalog as this process last changed it."""
        return (database.obj, _generation)

    def get(self, key, stamp):
        if stamp != self._stamp:
            self._entries, self._stamp = {}, stamp
            return None
        entry = self._entries.get(key)
        if entry is None or self.clock() - entry[0] > self.seconds:
            return None
        return entry[1]

    def put(self, key, value, stamp):
        """Keep `value`, found after taking `stamp`, unless the catalog changed in between."""
        if stamp != self.stamp():
            return
        if len(self._entries) >= MAX_ENTRIES:
            self._entries = {}
        self._entries[key] = (self.clock(), value)
