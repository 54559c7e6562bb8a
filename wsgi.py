"""WSGI entry point: `gunicorn wsgi:app`."""
from inference_gateway import create_app

app = create_app()
