"""Every third-party module the package imports at load time is a declared runtime dependency
(pyproject.toml), so `pip install .` alone is enough for the README's main job. Optional imports live
inside functions (matplotlib for plots) or behind try/except and are not counted."""
import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "python" / "softunlearn"
# distribution name → import name where they differ
IMPORT_NAME = {"scikit-learn": "sklearn"}


def _declared():
    tomllib = pytest.importorskip("tomllib")  # Python ≥ 3.11
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {re.split(r"[<>=!~ \[;]", dep, maxsplit=1)[0].strip().lower() for dep in meta["dependencies"]}
    return {IMPORT_NAME.get(n, n) for n in names}


def _load_time_imports(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in tree.body:  # module level only: imports inside functions or try blocks are optional
        if isinstance(node, ast.Import):
            yield from (a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]


def test_load_time_imports_are_declared_dependencies():
    declared = _declared()
    missing = {}
    for path in sorted(PACKAGE.glob("*.py")):
        for name in _load_time_imports(path):
            if name in sys.stdlib_module_names or name in ("softunlearn", "__future__") or name in declared:
                continue
            missing.setdefault(name, []).append(path.name)
    assert not missing, f"imported at load time but not in [project] dependencies: {missing}"
