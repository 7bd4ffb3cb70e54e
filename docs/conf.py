"""Sphinx configuration: the API reference from the docstrings, the Markdown pages through MyST.

The build runs offline (no intersphinx) and without the optional dependencies: dask and distributed are
mocked, and the CUDA module is never imported (``softunlearn.backend`` loads it lazily).
"""

import os
import sys

# A source checkout without an installed package: the Python sources sit in python/ (the compiled core
# must still be importable, e.g. from an installed wheel or a copied extension module).
_here = os.path.dirname(os.path.abspath(__file__))
try:
    import softunlearn
except ImportError:
    sys.path.insert(0, os.path.join(_here, os.pardir, "python"))
    import softunlearn

project = "softunlearn"
author = "softunlearn contributors"
copyright = "softunlearn contributors, BSD-3-Clause"
release = softunlearn.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]
# The pages are rebuilt from scratch in CI; a fixed date keeps the output identical between runs.
today = ""
html_last_updated_fmt = None

myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 3

autodoc_mock_imports = ["dask", "distributed"]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented"
# The docstrings are NumPy style, with free-form types such as "array_like, shape (n,)".
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
napoleon_use_param = False
napoleon_use_keyword = False
napoleon_preprocess_types = False

# Free-form "name : description" lines in Attributes sections become type fields whose words Sphinx tries to
# link; only identifiers can be link targets, so prose, shapes and formulas there are text, not broken links.
# Every explicit :func:/:class:/:data: role in a docstring must still resolve (-n).
nitpick_ignore_regex = [
    ("py:class", r"(?![A-Za-z_][A-Za-z0-9_.]*$).*"),
    ("py:class", r"(n|p|d|f|shape|and|int64|float64|float32)"),  # words of such shapes and dtypes
    # The build is offline (no intersphinx): names from NumPy, matplotlib and the standard library stay text.
    ("py:class", r"ndarray"),
    ("py:.*", r"(numpy|matplotlib|importlib|warnings)\..*"),
]

html_theme = "furo"
html_title = f"softunlearn {release}"
html_static_path: list = []


# ---- docstring conventions ----------------------------------------------------------------------------
import importlib  # noqa: E402
import re  # noqa: E402

_INLINE_LITERAL = re.compile(r"(``.*?``)")


def _escape_bars(app, what, name, obj, options, lines):
    """The docstrings write |x| for an absolute value, never a reST substitution: escape the bars outside
    literal blocks and inline literals so that docutils does not look for a substitution named x."""
    literal_indent = None
    for i, line in enumerate(lines):
        indent = len(line) - len(line.lstrip())
        if literal_indent is not None:
            if not line.strip() or indent > literal_indent:
                continue
            literal_indent = None
        if "|" in line:
            parts = _INLINE_LITERAL.split(line)
            lines[i] = "".join(p if p.startswith("``") else p.replace("|", r"\|") for p in parts)
        if line.rstrip().endswith("::"):
            literal_indent = indent


def _lookup(dotted):
    """The Python object a dotted name refers to, or None."""
    parts = dotted.split(".")
    for k in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:k]))
        except (ImportError, ValueError):  # not a module, or not a name at all (an empty part)
            continue
        try:
            for attr in parts[k:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


_documented: dict = {}


def _resolve_alias(app, env, node, contnode):
    """Resolve a reference to a documented object under another of its names.

    The API pages document each public object once, under the name users import (``softunlearn.Influence``);
    docstrings also name it by its defining module (``softunlearn.influence.Influence``) or, inside that
    module, by its bare name. Both refer to the same Python object, so they link to the one entry."""
    if node.get("refdomain") != "py":
        return None
    domain = env.get_domain("py")
    if not _documented:
        for fullname in domain.objects:
            obj = _lookup(fullname)
            if obj is not None and not isinstance(obj, (str, int, float, tuple, dict)):
                _documented.setdefault(id(obj), fullname)
    target = node["reftarget"].lstrip(".~")
    matches = set()
    for prefix in (node.get("py:module") or "", "softunlearn", ""):
        obj = _lookup(f"{prefix}.{target}" if prefix else target)
        if obj is not None and id(obj) in _documented:
            matches.add(_documented[id(obj)])
    if not matches:
        matches = {n for n in domain.objects if n.endswith("." + target)}
    if len(matches) != 1:
        return None
    return domain.resolve_xref(env, node["refdoc"], app.builder, "obj", matches.pop(), node, contnode)


def setup(app):
    app.connect("autodoc-process-docstring", _escape_bars)
    app.connect("missing-reference", _resolve_alias)
