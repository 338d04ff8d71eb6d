"""The code passes the linter configured in pyproject.toml (ruff: pyflakes and pycodestyle)."""
import subprocess
import sys

from conftest import REPO


def test_ruff_finds_nothing():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "index", "bot", "bench",
                             "tests"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
