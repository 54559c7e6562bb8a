"""Request ids, overhead headers, access log lines and metrics wiring."""


def init_app(app):
    pass
