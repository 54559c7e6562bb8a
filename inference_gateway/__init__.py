"""inference-gateway: one HTTP API in front of many LLM providers."""

__version__ = "0.1.0"


def create_app(config=None):
    """Build the WSGI app (inference_gateway.app.create_app); imported late so that importing a
    translation module does not pull in Flask."""
    from inference_gateway.app import create_app as _create_app

    return _create_app(config)
