"""The usage dashboard: server-rendered pages on /dashboard (Jinja templates and assets in this
package, charts drawn by plotly.js from the `plotly` package), signed in by a session cookie."""


def register(app):
    """Set up the session and register the dashboard's blueprint: the one place that adds it."""
    from inference_gateway.web.dashboard import pages, session

    session.configure(app, app.config["DASHBOARD_SESSION_HOURS"])
    app.register_blueprint(pages.bp, url_prefix="/dashboard")
