"""The app graph is a stack of layers (pyproject.toml, [tool.importlinter]): a module that
imports from a layer above its own fails here and in `make lint`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_no_app_imports_from_a_layer_above_it():
    result = subprocess.run(  # noqa: S603 (our own interpreter and tool)
        [str(Path(sys.executable).with_name("lint-imports"))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout
