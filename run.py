"""Serve tutor on http://127.0.0.1:5000 (the embedded default unless REDIS_URL is set)."""

from tutor import create_app

if __name__ == "__main__":
    create_app().run(host="127.0.0.1", port=5000)
