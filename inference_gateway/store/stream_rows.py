"""A stream's row from its first event: stored `in_progress`, checkpointed while it runs, replaced by
its outcome when it ends, and closed as an error with code INTERRUPTED when its worker died.

A worker killed mid-stream (`kill -9`, the OOM killer, a machine lost) writes nothing more. Its rows
are found by `close_interrupted`, run when a worker starts (gunicorn replaces a dead worker at
once) and then at most every minute by a worker that ends a stream: a row in progress
is interrupted when its worker ran on this host and is gone, or when it was last checkpointed more
than STREAM_ABANDONED_AFTER seconds ago (a worker on another host, which this one cannot look at). A row
closed so keeps the tokens and duration of its last checkpoint; if its stream was in fact alive,
its final write replaces it.
"""
import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from inference_gateway import errors
from inference_gateway.store import db, request_log
from inference_gateway.store.processes import is_gone, worker_id
from inference_gateway.store.request_log import ERROR, IN_PROGRESS
from inference_gateway.store.tables import RequestLog, utcnow

log = logging.getLogger(__name__)

INTERRUPTED_STATUS = 500
INTERRUPTED_MESSAGE = ("the gateway worker serving this stream stopped before the stream ended; "
                       "tokens are those counted at its last checkpoint")



@dataclass
class Settings:
    # A running stream saves its tokens so far into its row at most this often (STREAM_CHECKPOINT_SECONDS).
    checkpoint_every: float = 10.0
    # A row in progress not checkpointed for this long is closed whatever its host (STREAM_ABANDONED_AFTER).
    stale_after: float = 600.0
    # How often a worker looks for rows left behind (besides at its start).
    sweep_every: float = 60.0


settings = Settings()
_next_sweep = 0.0


def configure(checkpoint_every, stale_after):
    """Set from the app's settings in create_app (like spool.configure)."""
    settings.checkpoint_every, settings.stale_after = checkpoint_every, stale_after


def open_row(record):
    """Store the stream's row as in progress, before its first event goes out (retried, else spooled
    as any row is; if even that fails, the stream goes on and its final write tries again)."""
    record.worker = worker_id()
    try:
        _store_in_progress(record, 0, request_log.store)
    except db.DATABASE_DOWN as exc:
        log.error("stream %s: its row in progress could not be stored nor spooled (%s)", record.id, exc)


def checkpoint(record, deltas):
    """Save the tokens counted so far (one per delta until the provider reports usage) and the
    duration into the row in progress. Best effort: a checkpoint the database refuses is logged and
    skipped (the final write does not depend on it)."""
    try:
        _store_in_progress(record, deltas, request_log.store_now)
    except db.DATABASE_DOWN as exc:
        log.warning("stream %s: checkpoint not saved (%s); its final row will be", record.id, exc)


def _store_in_progress(record, deltas, store):
    status, output_tokens = record.status, record.output_tokens
    record.status, record.output_tokens = IN_PROGRESS, max(output_tokens, deltas)
    try:
        record.finish()
        store(record)
    finally:
        record.status, record.output_tokens = status, output_tokens


def close_interrupted(stale_after=None, now=None):
    """Close the rows in progress whose worker is gone; returns how many."""
    now, stale_after = now or utcnow(), settings.stale_after if stale_after is None else stale_after
    request_log.catch_up()  # a dead worker's journalled rows: its last checkpoints, or its outcomes
    with db.connection():
        rows = list(RequestLog.select(RequestLog.id, RequestLog.worker, RequestLog.created, RequestLog.duration_ms)
                    .where(RequestLog.status == IN_PROGRESS))
        stale = [row.id for row in rows if _interrupted(row, stale_after, now)]
        if not stale:
            return 0
        closed = (RequestLog.update(status=ERROR, http_status=INTERRUPTED_STATUS, error_code=errors.INTERRUPTED,
                                    error_message=INTERRUPTED_MESSAGE)
                  .where(RequestLog.id.in_(stale), RequestLog.status == IN_PROGRESS).execute())
    log.warning("closed %d stream row(s) left in progress by a worker that is gone, as %s", closed,
                errors.INTERRUPTED)
    return closed


def _interrupted(row, stale_after, now):
    gone = is_gone(row.worker)
    if gone is None:  # its last checkpoint: created + the duration it saved
        return row.created + timedelta(milliseconds=row.duration_ms or 0, seconds=stale_after) < now
    return gone


def sweep_if_due():
    """`close_interrupted` at most every `settings.sweep_every` seconds per process; errors are logged."""
    global _next_sweep
    now = time.monotonic()
    if now < _next_sweep:
        return
    _next_sweep = now + settings.sweep_every
    try:
        close_interrupted(settings.stale_after)
    except db.DATABASE_DOWN as exc:
        log.warning("could not close interrupted stream rows (%s); the next sweep will", exc)
