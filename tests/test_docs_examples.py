"""The code examples of the user guide (docs/guide/*.md) run as written.

Each page's ```python blocks run in order in one fresh namespace, as a reader would paste them; a page that
raises, or warns (the suite turns warnings into errors), fails here, so the examples cannot drift from the API.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "guide"
PAGES = sorted(GUIDE.glob("*.md"))
_BLOCK = re.compile(r"^```python\n(.*?)^```\s*$", re.DOTALL | re.MULTILINE)


def python_blocks(text: str) -> list[str]:
    return _BLOCK.findall(text)


def test_the_guide_is_there():
    # A moved docs folder would otherwise leave nothing to parametrize and this module would pass empty.
    names = {p.name for p in PAGES}
    assert {"audit-weights-update.md", "bounds-and-lambda.md", "svm.md", "sparse.md"} <= names


def test_blocks_are_found():
    text = "intro\n```python\nx = 1\n```\ntext\n```bash\nls\n```\n```python\ny = x + 1\n```\n"
    assert python_blocks(text) == ["x = 1\n", "y = x + 1\n"]


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_guide_examples_run(page, tmp_path, monkeypatch):
    blocks = python_blocks(page.read_text(encoding="utf-8"))
    assert blocks, f"{page.name} has no ```python example"
    monkeypatch.chdir(tmp_path)  # an example that writes files writes them here
    namespace: dict = {"__name__": f"guide_{page.stem.replace('-', '_')}"}
    for i, block in enumerate(blocks):
        code = compile(block, f"{page.name} [python block {i + 1}]", "exec")
        exec(code, namespace)
