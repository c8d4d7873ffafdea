"""tutor: learn how Redis works as a message broker for Flask apps, one executed command at a time."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the site: configuration from the environment, overridden by `config`."""
    from flask import Flask

    from tutor import api, assets, console_views, learner, progress, quiz_views, views, web
    from tutor.config import load_config
    from tutor.paths import data_dir, default_instance

    app = Flask(
        __name__,
        template_folder=str(data_dir("templates")),
        static_folder=str(data_dir("static")),
        instance_path=str(default_instance()),
    )
    app.config.update(load_config(app.instance_path, config))
    web.init_app(app)
    assets.init_app(app)
    learner.init_app(app)
    progress.init_app(app)
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    quiz_views.init_app(app)
    console_views.init_app(app)
    from tutor import instructor  # the instructor area (/instructor)

    instructor.init_app(app)
    if app.config["TUTOR_WARM"]:
        from tutor import warmup

        warmup.warm(app)
    from tutor import clickpath  # last: in front of everything Flask serves

    clickpath.init_app(app)
    return app
