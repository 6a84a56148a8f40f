"""Command line for operators: create, list, change the password or role of, and deactivate agents.

Usage::

    python -m bot.agents.cli [--db URL] create USERNAME --name "李客服" [--role agent|supervisor]
    python -m bot.agents.cli [--db URL] list
    python -m bot.agents.cli [--db URL] passwd USERNAME
    python -m bot.agents.cli [--db URL] role USERNAME agent|supervisor
    python -m bot.agents.cli [--db URL] deactivate USERNAME
    python -m bot.agents.cli [--db URL] audit [--conversation ID] [--agent USERNAME] [--limit N]

Roles: an ``agent`` sees the queue (summaries) and the chats they hold; a ``supervisor`` sees
and may do everything, including the access audit (``audit`` prints it here too). ``role``
ends the agent's sessions so the new role applies from their next login.

``create`` and ``passwd`` ask for the password twice (``getpass``, not echoed). Scripts and
tests may instead put it in the environment variable ``AGENT_PASSWORD``, which is then used
as is (no prompt). The password is never accepted as a command-line argument: arguments end
up in shell history and in every user's ``ps`` output.

``--db`` defaults to ``AGENTS_DB_URL``, then ``TICKETS_DB_URL`` (see :func:`bot.agents.store.store_from_env`).
Exit codes: 0 ok, 1 database or other error, 2 bad input (usage, username, password, unknown agent).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Mapping, Sequence, TextIO

from bot.agents.models import ROLES
from bot.agents.store import AgentStore, store_from_env
from bot.settings import Settings

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
PASSWORD_ENV = "AGENT_PASSWORD"


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the agent CLI."""
    parser = argparse.ArgumentParser(prog="python -m bot.agents.cli", description="Manage agent console accounts.")
    parser.add_argument("--db", metavar="URL", help="SQLAlchemy URL (default: $AGENTS_DB_URL, $TICKETS_DB_URL, var/)")
    sub = parser.add_subparsers(dest="command", required=True)

    p_create = sub.add_parser("create", help=f"create an agent (password: prompt, or ${PASSWORD_ENV})")
    p_create.add_argument("username")
    p_create.add_argument("--name", required=True, help="display name shown to colleagues")
    p_create.add_argument("--role", choices=ROLES, default="agent", help="agent (default) or supervisor")

    sub.add_parser("list", help="list agents")

    p_passwd = sub.add_parser("passwd", help=f"set a new password (prompt, or ${PASSWORD_ENV}); ends their sessions")
    p_passwd.add_argument("username")

    p_role = sub.add_parser("role", help="change an agent's role; ends their sessions")
    p_role.add_argument("username")
    p_role.add_argument("role", choices=ROLES)

    p_deactivate = sub.add_parser("deactivate", help="stop an agent from logging in; ends their sessions")
    p_deactivate.add_argument("username")

    p_audit = sub.add_parser("audit", help="who saw which transcript, photo or phone number, newest first")
    p_audit.add_argument("--conversation", help="only this conversation id")
    p_audit.add_argument("--agent", help="only this agent")
    p_audit.add_argument("--limit", type=int, default=50, help="rows at most (default 50)")
    return parser


def read_password(env: Mapping[str, str] | None = None) -> str:
    """Return ``$AGENT_PASSWORD`` if set, else the password typed twice at a ``getpass`` prompt.

    Raises:
        ValueError: The two entries differ, or no password could be read.
    """
    given = Settings.from_env(env).agent_password
    if given is not None:
        return given
    try:
        first = getpass.getpass("Password: ")
        again = getpass.getpass("Repeat password: ")
    except (EOFError, KeyboardInterrupt):
        raise ValueError("no password entered") from None
    if first != again:
        raise ValueError("the passwords do not match")
    return first


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Execute one parsed command against the store; errors propagate."""
    store = AgentStore(args.db) if args.db else store_from_env()
    try:
        if args.command == "create":
            agent = store.create_agent(args.username, args.name, read_password(), args.role)
            print(f"created {agent.role} {agent.username} ({agent.display_name})", file=out)
        elif args.command == "list":
            for agent in store.list_agents():
                state = "active" if agent.active else "inactive"
                created = agent.created_at.strftime("%Y-%m-%d %H:%M UTC")
                print(f"{agent.username:<24} {agent.role:<10} {state:<9} {created}  {agent.display_name}", file=out)
        elif args.command == "role":
            store.set_role(args.username, args.role)
            print(f"{args.username.strip().lower()} is now {args.role}; their sessions were ended", file=out)
        elif args.command == "audit":
            for row in store.access_log(conversation_id=args.conversation, username=args.agent, limit=args.limit):
                when = row.at.strftime("%Y-%m-%d %H:%M:%S UTC")
                detail = f" {row.detail}" if row.detail else ""
                print(f"{when}  {row.username} ({row.role})  {row.kind:<10} {row.conversation_id}{detail}", file=out)
        elif args.command == "passwd":
            store.set_password(args.username, read_password())
            print(f"password changed for {args.username.strip().lower()}; their sessions were ended", file=out)
        elif args.command == "deactivate":
            store.deactivate(args.username)
            print(f"deactivated {args.username.strip().lower()}; their sessions were ended", file=out)
        else:
            raise AssertionError(f"unhandled command {args.command!r}")
        return EXIT_OK
    finally:
        store.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code."""
    args = build_parser().parse_args(argv)
    try:
        return run(args, sys.stdout)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # noqa: BLE001 - the CLI turns any failure into a message and exit code
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
