"""HTTP API: one blueprint per resource, all under /api/v1/inference."""
PREFIX = "/api/v1/inference"


def register(app):
    from . import chat, chat_ws, embed, health, images, models, providers, transcribe, usage  # noqa: F401

    for module in (providers, models, chat, embed, images, transcribe, usage):
        app.register_blueprint(module.bp, url_prefix=PREFIX)
    # Health and metrics live outside /api: no envelope prefix, no API key for probes.
    app.register_blueprint(health.bp)
