"""The gateway with bench/proposals.py applied: `gunicorn -c gunicorn.conf.py --pythonpath bench wsgi_proposed:app`."""
import proposals

proposals.apply()

from wsgi import app  # noqa: E402

__all__ = ["app"]
