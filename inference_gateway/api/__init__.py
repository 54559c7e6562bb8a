"""HTTP API: one blueprint per resource, all under /api/v1/inference."""
PREFIX = "/api/v1/inference"


def register(app):
    from .providers import bp as providers_bp

    for bp in (providers_bp,):
        app.register_blueprint(bp, url_prefix=PREFIX)
