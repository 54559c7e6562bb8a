"""Drop-in surfaces: OpenAI's and Anthropic's wire formats on /v1, over the gateway's own call path."""
from inference_gateway.compat import shared
from inference_gateway.compat.anthropic.routes import bp as anthropic_bp
from inference_gateway.compat.openai.routes import bp as openai_bp

PREFIX = "/v1"


def register(app):
    for bp in (anthropic_bp, openai_bp, shared.bp):
        app.register_blueprint(bp, url_prefix=PREFIX)
