"""Service URLs fit to show: a page or a log names the server, never its password."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

HIDDEN = "***"
_SECRET_PARAMS = {"password", "pass", "passwd", "pwd", "secret", "token"}


def mask(url: str) -> str:
    """The URL with any password replaced by ***: in the user part (user:pw@) and in the query (?password=)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(an unreadable URL)"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0] if ":" in userinfo else ""
        # 'redis://secret@host' may be a bare password: hide the whole user part when there is no colon.
        netloc = f"{user}:{HIDDEN}@{host}" if ":" in userinfo else f"{HIDDEN}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, HIDDEN if k.lower() in _SECRET_PARAMS else v) for k, v in pairs], safe="*")
    # Rebuilt by hand: urlunsplit drops an empty authority (unix:///path would lose its slashes).
    authority = f"//{netloc}" if url[len(parts.scheme) + 1 :].startswith("//") else netloc
    return (
        f"{parts.scheme}:{authority}{parts.path}"
        + (f"?{query}" if query else "")
        + (f"#{parts.fragment}" if parts.fragment else "")
    )
