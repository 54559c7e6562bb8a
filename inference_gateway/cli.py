"""Flask CLI commands: `flask --app wsgi <command>`."""


def init_app(app):
    pass
