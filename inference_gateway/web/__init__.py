"""Web layer: the envelope and error handlers, keys and roles, request ids, the access log, metrics."""
