"""Flask's hello-world, the yardstick bench/load.py serves under the same gunicorn settings as tutor."""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "Hello, World!"
