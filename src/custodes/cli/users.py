"""`custodes user add|list|disable` and `custodes token create`: Custodes' own accounts.

Passwords are never defaults: give one on stdin (``--password-stdin``) or have a random one
generated and printed once. Tokens are printed once; only their SHA-256 is kept.
"""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer

from custodes.access import tokens
from custodes.access import users as accounts
from custodes.access.roles import Role
from custodes.cli.options import DEFAULT_DATA_DIR, DataDir, Format
from custodes.cli.output import OutputFormat, emit, emit_object
from custodes.config import load_settings
from custodes.store.cases import CaseStore

user_app = typer.Typer(help="Custodes' own users: add, list, disable.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens for machine clients.", no_args_is_help=True)


def _by() -> str:
    """Who did it, for the audit log: the operating-system user at the terminal."""
    return f"cli:{getpass.getuser()}"[:64]


def _store(data_dir: DataDir) -> CaseStore:
    return CaseStore.open(load_settings(data_dir=data_dir))


@user_app.command("add")
def add(
    username: Annotated[str, typer.Argument(help=accounts.USERNAME_RULE)],
    role: Annotated[Role, typer.Option(help="What they may do (docs/permissions.md).")],
    display_name: Annotated[str, typer.Option(help="A name for people.")] = "",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    fmt: Format = OutputFormat.table,
) -> None:
    """Add a user; without --password-stdin a random password is printed once."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    with _store(data_dir) as store, store.write() as session:
        created = accounts.add_user(
            session,
            username=username,
            role=role,
            password=password,
            display_name=display_name,
            by=_by(),
        )
        record = {"id": created.user.id, "username": username, "role": role.value}
    if created.password is not None:
        record["password"] = created.password
    emit_object(record, fmt)
    if created.password is not None and fmt is OutputFormat.table:
        typer.echo("Store this password now: it is not shown again.", err=True)


@user_app.command("list")
def list_(
    role: Annotated[Role | None, typer.Option(help="Only this role.")] = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    fmt: Format = OutputFormat.table,
) -> None:
    """Every user, by name."""
    with _store(data_dir) as store, store.read() as session:
        rows, _total = accounts.list_users(session, role=role, limit=1_000_000)
        records = [
            {
                "id": u.id,
                "username": u.username,
                "display_name": u.display_name,
                "role": u.role,
                "disabled": u.disabled,
                "created_at": u.created_at,
            }
            for u in rows
        ]
    emit(records, fmt, title="Users")


@user_app.command("disable")
def disable(
    username: Annotated[str, typer.Argument(help="Who.")],
    data_dir: DataDir = DEFAULT_DATA_DIR,
    fmt: Format = OutputFormat.table,
) -> None:
    """Disable a user: their sessions end and their API tokens stop working."""
    with _store(data_dir) as store, store.write() as session:
        user = accounts.disable_user(session, username, by=_by())
        record = {"id": user.id, "username": user.username, "disabled": user.disabled}
    emit_object(record, fmt)


@token_app.command("create")
def create(
    username: Annotated[str, typer.Argument(help="The user the token acts as.")],
    name: Annotated[str, typer.Option(help="What will use it (for the audit log).")],
    expires_days: Annotated[
        float, typer.Option(help="Days until it stops working.", min=0.01, max=3650)
    ] = 90.0,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    fmt: Format = OutputFormat.table,
) -> None:
    """Create an API token and print it once (send as 'Authorization: Bearer <token>')."""
    with _store(data_dir) as store, store.write() as session:
        user = accounts.find_user(session, username)
        new = tokens.create_token(session, user, name=name, expires_days=expires_days, by=_by())
        record = {
            "id": new.token.id,
            "username": username,
            "name": new.token.name,
            "expires_at": new.token.expires_at,
            "token": new.plaintext,
        }
    emit_object(record, fmt)
