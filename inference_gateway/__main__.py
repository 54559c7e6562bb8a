"""Development server: `python -m inference_gateway` (threaded; use gunicorn in production)."""
import os

from werkzeug.serving import run_simple

from inference_gateway import create_app


def main():
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "3000"))
    run_simple(host, port, create_app(), threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
