"""Virtual keys: create (the secret is returned once, only its SHA-256 kept), read, change, revoke."""
import hashlib
import json
import secrets

from inference_gateway import errors
from inference_gateway.store import db
from inference_gateway.store.provider_store import iso
from inference_gateway.store.tables import VirtualKey, utcnow

SECRET_PREFIX = "igw_"
SHOWN_PREFIX = 12  # characters of the secret kept to recognise it ("igw_" and 8 more)
# Fields a create or an update may set (API names -> column names); lists and objects are JSON.
FIELDS = {"name": "name", "role": "role", "models": "models", "providers": "providers", "rpm": "rpm",
          "tpm": "tpm", "max_concurrent": "max_concurrent", "budget_usd": "budget_usd",
          "budget_period": "budget_period", "expires_at": "expires_at", "metadata": "metadata"}
JSON_FIELDS = ("models", "providers", "metadata")

# Bumped after this process changes a key, so its caches drop every entry at once.
generation = 0


def digest(secret):
    """The stored form of a secret. A fast hash is right here: the secret has 256 random bits (no
    dictionary to try), and the lookup runs on every call."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _column_values(data):
    values = {}
    for name, column in FIELDS.items():
        if name in data:
            value = data[name]
            values[column] = json.dumps(value) if name in JSON_FIELDS and value is not None else value
    return values


def _changed():
    global generation
    generation += 1


def create(data):
    """(row, secret): the secret exists only in this return value."""
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    with db.connection():
        row = VirtualKey.create(secret_hash=digest(secret), prefix=secret[:SHOWN_PREFIX], **_column_values(data))
    _changed()
    return row, secret


def get(key_id):
    with db.connection():
        row = VirtualKey.get_or_none(VirtualKey.id == key_id)
    if row is None:
        raise errors.NotFound(f"key '{key_id}' not found (GET /api/v1/inference/keys lists them)")
    return row


def list_all():
    with db.connection():
        return list(VirtualKey.select().order_by(VirtualKey.created, VirtualKey.id))


def by_digest(hashed):
    with db.brief():
        return VirtualKey.get_or_none(VirtualKey.secret_hash == hashed)


def update(row, data):
    if row.revoked_at is not None:
        raise errors.Conflict(f"key '{row.id}' is revoked; create a new key instead")
    for column, value in _column_values(data).items():
        setattr(row, column, value)
    row.updated = utcnow()
    with db.connection():
        row.save()
    _changed()
    return row


def revoke(row):
    """Revoked keys stay (their usage history names them), with revokedAt; revoking twice is harmless."""
    if row.revoked_at is None:
        row.revoked_at = row.updated = utcnow()
        with db.connection():
            row.save()
    _changed()
    return row


def loads(text):
    return json.loads(text) if text else None


def to_dict(row):
    return {
        "id": row.id,
        "name": row.name,
        "role": row.role,
        "prefix": row.prefix,
        "models": loads(row.models),
        "providers": loads(row.providers),
        "rpm": row.rpm,
        "tpm": row.tpm,
        "maxConcurrent": row.max_concurrent,
        "budgetUsd": row.budget_usd,
        "budgetPeriod": row.budget_period,
        "expiresAt": iso(row.expires_at) if row.expires_at else None,
        "metadata": loads(row.metadata),
        "created": iso(row.created),
        "updated": iso(row.updated),
        "revokedAt": iso(row.revoked_at) if row.revoked_at else None,
    }
