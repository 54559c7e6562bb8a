"""Query-string values shared by the usage API and the dashboard: UTC times given as ISO-8601 dates or
date-times, the range they bound, and one value per parameter."""
import re
from datetime import datetime, timedelta, timezone

from flask import request
from marshmallow import ValidationError, fields

from inference_gateway import errors

DATE_ONLY = re.compile(r"^\d{4}-?\d{2}-?\d{2}$")
MIN_YEAR, MAX_YEAR = 1970, 9000
TIME_ERROR = ("must be an ISO-8601 date (2026-03-01, a whole day in UTC) or date-time "
              "(2026-03-01T12:00:00Z; without an offset it is UTC)")


class UtcTime(fields.Field):
    """An ISO-8601 date or date-time, loaded as (naive UTC datetime, whether it was a date alone)."""

    default_error_messages = {"invalid": TIME_ERROR}
    openapi = {"type": "string", "description": TIME_ERROR, "examples": ["2026-03-01", "2026-03-01T12:00:00Z"]}

    def _deserialize(self, value, attr, data, **kwargs):
        text = str(value).strip()
        try:
            parsed = datetime.fromisoformat(text.replace("z", "Z"))
            if parsed.tzinfo is not None:
                parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
        except (ValueError, OverflowError):
            raise self.make_error("invalid") from None
        # Far enough from datetime's limits that a day or an hour can be added to it.
        if not MIN_YEAR <= parsed.year <= MAX_YEAR:
            raise ValidationError(f"must be between the years {MIN_YEAR} and {MAX_YEAR}")
        return parsed, bool(DATE_ONLY.match(text))


def bounds(data):
    """(since inclusive, until exclusive): a date alone covers its whole UTC day, `until` included."""
    since = data["since"][0] if "since" in data else None
    until = None
    if "until" in data:
        moment, date_only = data["until"]
        until = moment + (timedelta(days=1) if date_only else timedelta(microseconds=1))
    return since, until


def query_args():
    """The query string as one value per name; a repeated name is ambiguous, so it is a 400."""
    repeated = sorted(name for name, values in request.args.lists() if len(values) > 1)
    if repeated:
        raise errors.BadRequest(f"{repeated[0]}: give this parameter once")
    return request.args.to_dict()
