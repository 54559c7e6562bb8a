"""The model list in Anthropic's format (`GET /v1/models` from Anthropic's SDK): pure translation."""
from datetime import timezone

from inference_gateway.compat.openai.media import unique_rows


def model_body(row):
    created = row.synced_at.replace(tzinfo=timezone.utc).isoformat().replace("+00:00", "Z")
    return {"type": "model", "id": row.model_id, "display_name": row.display_name or row.model_id,
            "created_at": created}


def models_body(rows):
    """One page holding every synced model (the gateway's list is small; `has_more` is false)."""
    data = [model_body(row) for row in unique_rows(rows)]
    return {"data": data, "has_more": False, "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None}
