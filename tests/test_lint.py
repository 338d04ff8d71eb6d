"""The code passes the linter and the type checker configured in pyproject.toml (ruff: pyflakes
and pycodestyle; mypy: the search core)."""
import subprocess
import sys

import pytest
from conftest import REPO


def test_ruff_finds_nothing():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "index", "bot", "bench",
                             "tests"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_nothing():
    pytest.importorskip("mypy", reason="mypy is not installed (pip install -e '.[test]')")
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=REPO, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_adapters_use_only_the_search_cores_public_names():
    """bot/ imports from index/ only what index/__init__.py lists in __all__, so the core's
    modules can change without reaching into the command line, console or Slack app."""
    import ast

    import index

    public = set(index.__all__)
    reaching = []
    for path in sorted((REPO / "bot").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and (
                    node.module == "index" or node.module.startswith("index.")):
                names = {a.name for a in node.names}
                if node.module != "index" or not names <= public:
                    reaching.append(f"{path.relative_to(REPO)}:{node.lineno}: from "
                                    f"{node.module} import {', '.join(sorted(names - public))}")
            elif isinstance(node, ast.Import):
                reaching += [f"{path.relative_to(REPO)}:{node.lineno}: import {a.name}"
                             for a in node.names if a.name.startswith("index.")]
    assert reaching == []


def test_every_package_of_the_code_is_installed():
    """pyproject.toml names each package a wheel must hold: a folder left out installs
    everywhere but in an editable checkout (as in the container image)."""
    try:
        import tomllib
    except ImportError:  # (Python 3.10: the tomli package, a dependency there)
        import tomli as tomllib

    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    found = {p.parent.relative_to(REPO).as_posix().replace("/", ".")
             for top in ("index", "bot") for p in (REPO / top).rglob("__init__.py")}
    assert listed == found
