"""Tables: providers, their synced models, and the request log."""
import secrets
from datetime import datetime, timezone

from peewee import (BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField, Model,
                    TextField)

from .db import database


def utcnow():
    """Naive UTC, the form every timestamp is stored in."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def new_id(nbytes=4):
    return secrets.token_hex(nbytes)


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


class SchemaVersion(BaseModel):
    version = IntegerField()
    applied = DateTimeField(default=utcnow)


class Provider(BaseModel):
    id = CharField(primary_key=True, max_length=8, default=new_id)
    name = CharField(max_length=64)
    # Lower-cased name: uniqueness and lookups are case-insensitive.
    name_key = CharField(max_length=64, unique=True)
    type = CharField(max_length=32)
    default_model = CharField(max_length=200, null=True)
    env_var = CharField(max_length=128, null=True)
    base_url = CharField(max_length=500, null=True)
    created = DateTimeField(default=utcnow, index=True)
    updated = DateTimeField(default=utcnow)


class ProviderModel(BaseModel):
    id = CharField(primary_key=True, max_length=16, default=lambda: new_id(8))
    provider = ForeignKeyField(Provider, backref="models", on_delete="CASCADE")
    model_id = CharField(max_length=300, index=True)
    display_name = CharField(max_length=300, null=True)
    capabilities = CharField(max_length=200, default="")  # comma-separated
    synced_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "model"
        indexes = ((("provider", "model_id"), True),)


class RequestLog(BaseModel):
    # No foreign key: a log row outlives its provider and keeps the provider's name.
    id = CharField(primary_key=True, max_length=32, default=lambda: new_id(8))
    created = DateTimeField(default=utcnow)
    provider_id = CharField(max_length=8, null=True)
    provider_name = CharField(max_length=64, null=True)
    model = CharField(max_length=300, null=True)
    endpoint = CharField(max_length=32)
    status = CharField(max_length=16)  # success | error | cancelled
    http_status = IntegerField(null=True)
    input_tokens = IntegerField(default=0)
    output_tokens = IntegerField(default=0)
    duration_ms = IntegerField(default=0)
    ttft_ms = IntegerField(null=True)
    stream = BooleanField(default=False)
    error_code = CharField(max_length=64, null=True)
    error_message = TextField(null=True)
    request_body = TextField(null=True)
    response_body = TextField(null=True)

    class Meta:
        table_name = "request_log"
        indexes = (
            (("created", "id"), False),
            (("provider_id", "created"), False),
            (("model", "created"), False),
        )


TABLES = [SchemaVersion, Provider, ProviderModel, RequestLog]
