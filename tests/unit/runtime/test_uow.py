"""The unit of work's after-commit hook: once per transaction that commits, never on rollback."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import MetaData

from carepath.persistence.db import make_engine, runtime_tables
from carepath.persistence.uow import UnitOfWork


def test_after_commit_runs_once_when_the_transaction_commits_and_not_on_rollback(
    tmp_path: Path,
) -> None:
    metadata = MetaData()
    outbox, inbox = runtime_tables(metadata)
    engine = make_engine(f"sqlite:///{tmp_path / 'uow.db'}")
    metadata.create_all(engine)
    uow, calls = UnitOfWork(engine, outbox=outbox, inbox=inbox), []

    def ring() -> None:
        calls.append("ring")

    with uow.transaction() as tx:
        tx.after_commit(ring)
        tx.after_commit(ring)
        assert calls == []  # not before the commit
    assert calls == ["ring"]

    with pytest.raises(RuntimeError), uow.transaction() as tx:
        tx.after_commit(ring)
        raise RuntimeError("rolled back")
    assert calls == ["ring"]
