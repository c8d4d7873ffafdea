"""`tutor instructor add|list|remove`: instructor accounts, made on the server, never through the site.

Accounts live in the progress database (the one the site uses: DATABASE_URL, else TUTOR_DATABASE),
so the site and this command always agree on who may log in.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from tutor import messages


def add_parser(sub: Any) -> None:
    """The `instructor` subcommand and its three actions."""
    parser = sub.add_parser("instructor", help="instructor accounts for /instructor")
    actions = parser.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="make an account (asks for the password twice)")
    add.add_argument("name")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from the first line of standard input"
    )
    actions.add_parser("list", help="list the accounts")
    remove = actions.add_parser("remove", help="delete an account; its open sessions end")
    remove.add_argument("name")
    for action in (add, remove, actions.choices["list"]):
        action.add_argument("--database-url", help="progress database (default: DATABASE_URL, else TUTOR_DATABASE)")


def run(args: argparse.Namespace, stdin: TextIO | None = None, out: TextIO | None = None) -> int:
    """Carry out one action; 0 on success, 1 with a sentence on standard error otherwise."""
    from tutor import accounts  # the database's modules, only when an account is touched: `tutor check` starts faster
    from tutor.results import open_store

    stdin = stdin or sys.stdin
    out = out or sys.stdout
    store = open_store(args.database_url)
    try:
        if args.action == "list":
            for account in accounts.listed(store):
                created = datetime.fromtimestamp(account.created, UTC).strftime("%Y-%m-%d %H:%M UTC")
                print(f"{account.name}\t(since {created})", file=out)
            return 0
        if args.action == "remove":
            if not accounts.remove(store, args.name):
                print(messages.INSTRUCTOR_NO_SUCH.format(name=accounts.normalise(args.name)), file=sys.stderr)
                return 1
            print(f"removed {accounts.normalise(args.name)}", file=out)
            return 0
        password = _read_password(args.password_stdin, stdin)
        if password is None:
            return 1
        account = accounts.add(store, args.name, password)
        print(f"added {account.name}", file=out)
        return 0
    except accounts.AccountError as error:
        print(error, file=sys.stderr)
        return 1
    finally:
        store.close()
        store.engine.dispose()


def _read_password(from_stdin: bool, stdin: TextIO) -> str | None:
    """The password from stdin's first line, or asked twice on the terminal (never echoed)."""
    if from_stdin:
        line = stdin.readline().rstrip("\r\n")
        if not line:
            print(messages.INSTRUCTOR_NO_PASSWORD_STDIN, file=sys.stderr)
            return None
        return line
    from tutor import accounts

    first = getpass.getpass("Password: ")
    accounts.check_password(first)
    if getpass.getpass("Password again: ") != first:
        print(messages.INSTRUCTOR_PASSWORDS_DIFFER, file=sys.stderr)
        return None
    return first
