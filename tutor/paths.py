"""Where the site's files are: beside the package when installed, at the top of the checkout otherwise.

The repository keeps templates/, static/ and lessons/ at its top level; the wheel carries them inside
the package (pyproject.toml maps tutor/templates, tutor/static, tutor/lessons onto those folders).
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
CHECKOUT = PACKAGE.parent


def data_dir(name: str) -> Path:
    """The folder `name` (templates, static or lessons): the installed copy, else the checkout's."""
    installed = PACKAGE / name
    return installed if installed.is_dir() else CHECKOUT / name


def instance_dir() -> Path | None:
    """The checkout's instance/ folder when running from a checkout; None when installed (Flask decides)."""
    return None if (PACKAGE / "templates").is_dir() else CHECKOUT / "instance"


def default_instance() -> Path:
    """The instance folder the app uses when TUTOR_INSTANCE_PATH is not set (Flask's own rule when installed)."""
    import os
    import sys

    given = os.environ.get("TUTOR_INSTANCE_PATH")
    if given:
        return Path(given)
    return instance_dir() or Path(sys.prefix) / "var" / "tutor-instance"
