"""Logging setup: plain text or JSON lines."""
import json
import logging
import sys


class JsonFormatter(logging.Formatter):
    def format(self, record):
        entry = {"time": self.formatTime(record), "level": record.levelname, "logger": record.name,
                 "message": record.getMessage()}
        entry.update(getattr(record, "fields", {}) or {})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure(level="INFO", fmt="text"):
    root = logging.getLogger("inference_gateway")
    root.setLevel(level.upper())
    formatter = (JsonFormatter() if fmt == "json"
                 else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for handler in root.handlers:
        if getattr(handler, "_gateway", False):
            handler.setFormatter(formatter)
            return
    handler = logging.StreamHandler(sys.stderr)
    handler._gateway = True
    handler.setFormatter(formatter)
    root.addHandler(handler)
    root.propagate = False
