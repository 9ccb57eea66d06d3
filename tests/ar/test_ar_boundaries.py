"""The package's boundaries: no web app imports, MediaPipe behind one adapter, light to import."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import ar

PACKAGE = Path(ar.__file__).resolve().parent


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_never_imports_the_web_app_and_only_the_adapter_imports_mediapipe():
    modules = sorted(PACKAGE.glob("*.py"))
    assert len(modules) > 5
    for path in modules:
        roots = _imported_roots(path)
        assert "app" not in roots, path.name
        assert ("mediapipe" in roots) == (path.name == "landmarks.py"), path.name


def test_importing_ar_loads_neither_mediapipe_nor_the_app():
    code = (
        "import sys, ar, ar.cli, ar.pipeline\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('mediapipe', 'app', 'flask')]\n"
        "print(loaded)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=PACKAGE.parent,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == "[]"
