"""tutor: learn how Redis works as a message broker for Flask apps, one executed command at a time."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the site: configuration from the environment, overridden by `config`."""
    from tutor import api, console_views, learner, progress, quiz_views, views, web
    from tutor.config import load_config

    root = __import__("pathlib").Path(__file__).resolve().parent.parent
    app = Flask(
        __name__,
        template_folder=str(root / "templates"),
        static_folder=str(root / "static"),
        instance_path=str(root / "instance"),
    )
    app.config.update(load_config(app.instance_path, config))
    web.init_app(app)
    learner.init_app(app)
    progress.init_app(app)
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    quiz_views.init_app(app)
    console_views.init_app(app)
    return app
