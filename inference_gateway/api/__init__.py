"""HTTP API: one blueprint per resource, all under /api/v1/inference."""
PREFIX = "/api/v1/inference"


def register(app):
    """Register every blueprint: the one place that says which routes the app serves."""
    from inference_gateway.api import (chat, chat_ws, docs, embed, health, images, keys, models, prices,
                                       providers, routes, transcribe, usage)

    for bp in (providers.bp, routes.bp, models.bp, chat.bp, chat_ws.bp, embed.bp, images.bp, transcribe.bp, usage.bp,
               prices.bp, keys.bp, docs.openapi_bp):
        app.register_blueprint(bp, url_prefix=PREFIX)
    # Health and metrics live outside /api: no envelope prefix, no API key for probes.
    app.register_blueprint(health.bp)
    app.register_blueprint(docs.bp)  # the API explorer page, /docs
