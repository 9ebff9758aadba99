"""The boundaries are code: the import contracts in pyproject.toml (import-linter) hold for the
tree, and they do catch a violation — planted in a copy of the tree, never in the tree itself."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
PACKAGES = ("carepath", "contracts", "services")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"),
                           "--no-cache"], cwd=root, env=env, capture_output=True, text=True,
                          timeout=300)


def test_the_tree_keeps_every_import_contract() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(("planted_in", "line", "broken"), [
    ("services/journey/planted.py", "from services.placement import domain",
     "Services never import each other"),
    ("services/scheduling/domain.py", "import sqlalchemy",
     "The domain imports only the standard library, pydantic and the contracts"),
    ("carepath/planted.py", "import services.intake.app",
     "The runtime imports no service"),
    ("contracts/planted.py", "from carepath import settings",
     "The contracts import nothing of Carepath's"),
    ("carepath/messaging/planted.py", "from carepath.dev import demo",
     "What serves never imports the development tools"),
])
def test_a_planted_violation_breaks_its_contract(tmp_path: Path, planted_in: str, line: str,
                                                 broken: str) -> None:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__", "migrations", "*.html",
                                                      "assets", "schemas", "examples"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / planted_in
    target.write_text(f"{line}\n" + (target.read_text() if target.exists() else ""))
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert f"{broken} BROKEN" in result.stdout, result.stdout[-2000:]
