"""Development server: `python -m inference_gateway` (threaded; use gunicorn in production)."""
import os

from werkzeug.serving import WSGIRequestHandler, run_simple

from inference_gateway import create_app


class QuietHandler(WSGIRequestHandler):
    """The app writes one access-log line per request already; werkzeug's own would be a second."""

    def log_request(self, code="-", size="-"):
        pass


def main():
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "3000"))
    run_simple(host, port, create_app(), threaded=True, use_reloader=False, request_handler=QuietHandler)


if __name__ == "__main__":
    main()
