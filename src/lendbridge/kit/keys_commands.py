"""``lendbridge keys``: the master keys that protect personal data at rest.

Rotation while the platform runs (see ``kit/crypto.py``): ``keys add`` (the new key is known
but not used), restart the processes, ``keys activate``, restart, ``keys rotate`` until it
reports complete, then ``keys retire`` the old key. With keys from the environment
(``LENDBRIDGE_MASTER_KEYS``) the operator edits the variable instead of the key file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from lendbridge.config import get_settings
from lendbridge.kit import crypto
from lendbridge.kit.db import make_engine, make_session_factory

keys_app = typer.Typer(help="Master keys for personal data: add, activate, rotate, retire.")
console = Console(highlight=False, soft_wrap=True)


def _key_file_keyring() -> tuple[crypto.Keyring, Path]:
    settings = get_settings()
    if settings.master_keys is not None:
        console.print("[bold red]error[/]: keys come from LENDBRIDGE_MASTER_KEYS; edit it instead")
        raise typer.Exit(code=1)
    path = settings.var_dir / "master-keys.json"
    return crypto.Keyring.from_file(path), path


@keys_app.command("add")
def add() -> None:
    """Add a new master key to the key file, not yet active (restart the processes next)."""
    before, path = _key_file_keyring()
    ring = before.add_key(activate=False)
    ring.save(path)
    (added,) = set(ring.key_ids) - set(before.key_ids)
    console.print(f"added {added} to {path} (inactive)")


@keys_app.command("activate")
def activate(
    key_id: Annotated[str, typer.Argument(help="The key to encrypt new values with")],
) -> None:
    ring, path = _key_file_keyring()
    ring.activate(key_id).save(path)
    console.print(f"{key_id} is now the active key")


@keys_app.command("retire")
def retire(key_id: Annotated[str, typer.Argument(help="A key no value is wrapped under")]) -> None:
    ring, path = _key_file_keyring()
    ring.retire(key_id).save(path)
    console.print(f"{key_id} removed")


@keys_app.command("rotate")
def rotate(
    batch_size: Annotated[int, typer.Option(min=1, max=100_000)] = 500,
) -> None:
    """Rewrap every stored personal-data value under the active key, batch by batch (each
    batch its own transaction, so the platform keeps running). Exit 1 if any value failed."""
    from lendbridge.models_registry import Base  # registers every encrypted column
    from lendbridge.runtime import configure_keyring

    settings = get_settings()
    engine = make_engine(settings.database_url, pool_size=2)
    try:
        keyring = configure_keyring(settings, engine)
        # The project's tables only (a library or a test may declare encrypted columns too).
        columns = [c for c in crypto.encrypted_columns() if c.table.metadata is Base.metadata]
        report = crypto.rotate(
            make_session_factory(engine), batch_size=batch_size, keyring=keyring, columns=columns
        )
    finally:
        engine.dispose()
    table = Table("column", "rewrapped", "skipped", "changed meanwhile", "failed")
    for column in report.columns:
        table.add_row(
            f"{column.table}.{column.column}",
            str(column.rewrapped),
            str(column.skipped),
            str(column.changed_concurrently),
            str(column.failed),
        )
    console.print(table)
    if report.failed:
        console.print(f"[bold red]{report.failed} values could not be rewrapped[/] (see the log)")
        raise typer.Exit(code=1)
    console.print("complete" if report.complete else "incomplete: run again")
