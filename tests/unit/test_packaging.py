"""The SQL ships with the package: a wheel holds every project file and, installed elsewhere, finds them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CHECK = """
import json, pipeline
from pipeline.catalog import catalog
from pipeline.exports.definitions import definitions
from pipeline.sqlfiles import sql_dir
from pipeline.warehouse import dialect
print(json.dumps({"package": pipeline.__file__, "sql": str(sql_dir()), "sources": sorted(catalog().sources),
                  "models": sorted(catalog().models), "exports": sorted(definitions()),
                  "templates": [(dialect(k).templates / "lock.sql").is_file() for k in ("postgresql", "redshift")]}))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    # Built from a copy: setuptools writes build/ and *.egg-info beside the sources it builds.
    source, out = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("wheel")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source)
    for name in ("pipeline", "sql"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)],
                   check=True, capture_output=True, timeout=300)
    (built,) = out.glob("*.whl")
    return built


def test_the_wheel_holds_every_module_and_sql_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {str(p.relative_to(ROOT)) for p in (ROOT / "pipeline").rglob("*") if p.is_file()
               and "__pycache__" not in p.parts}
    project_sql = {"pipeline/sql/" + str(p.relative_to(ROOT / "sql")) for p in (ROOT / "sql").rglob("*")
                   if p.is_file()}
    assert modules - names == set()
    assert project_sql - names == set()


def test_an_installed_pipeline_finds_its_declarations_from_any_directory(wheel, tmp_path):
    target, elsewhere = tmp_path / "site", tmp_path / "elsewhere"
    elsewhere.mkdir()
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    result = subprocess.run([sys.executable, "-c", CHECK], cwd=elsewhere, capture_output=True, text=True,
                            timeout=60, env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr[-2000:]
    found = json.loads(result.stdout)
    assert found["package"].startswith(str(target)) and found["sql"] == str(target / "pipeline" / "sql")
    assert found["sources"] == sorted(p.stem for p in (ROOT / "sql" / "sources").glob("*.yml"))
    assert found["models"] == sorted(p.name for p in (ROOT / "sql" / "models").iterdir() if p.is_dir())
    assert found["exports"] and found["templates"] == [True, True]
