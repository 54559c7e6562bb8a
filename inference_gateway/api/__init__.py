"""HTTP API: one blueprint per resource, all under /api/v1/inference."""
from importlib import import_module

PREFIX = "/api/v1/inference"


def register(app):
    from inference_gateway.api import embed, health, images, models, providers, transcribe, usage
    from inference_gateway.api.chat import bp as chat_bp

    # chat_ws adds the WebSocket route to the chat blueprint, so it must load before that registers.
    import_module("inference_gateway.api.chat_ws")
    for bp in (providers.bp, models.bp, chat_bp, embed.bp, images.bp, transcribe.bp, usage.bp):
        app.register_blueprint(bp, url_prefix=PREFIX)
    # Health and metrics live outside /api: no envelope prefix, no API key for probes.
    app.register_blueprint(health.bp)
