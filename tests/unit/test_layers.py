"""The import contract (pyproject.toml [tool.importlinter]) holds, and fails on a violation."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT = str(Path(sys.executable).parent / "lint-imports")


def lint(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([LINT, "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(cwd), "PATH": str(Path(sys.executable).parent)})


def test_the_layer_contract_is_kept():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout


def test_a_lower_layer_importing_a_higher_one_breaks_the_contract(tmp_path):
    shutil.copytree(ROOT / "pipeline", tmp_path / "pipeline", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    extract = tmp_path / "pipeline" / "extract.py"
    extract.write_text(extract.read_text() + "\nfrom pipeline.tasks.common import WindowTask  # noqa\n")
    result = lint(tmp_path)
    assert result.returncode != 0
    assert "pipeline.extract -> pipeline.tasks.common" in result.stdout
    assert "BROKEN" in result.stdout

