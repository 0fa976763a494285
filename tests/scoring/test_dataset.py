"""Reading a training file: type inference, the data-quality findings, clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from lendbridge.scoring.dataset import TrainingDataError, prepare, read_applications
from lendbridge.scoring.quality import Exclusion
from lendbridge.scoring.spec import ColumnKind, TrainingSpec

HEADER = "loan_id,int_rate,amount,emp_length,home,blank,const,outcome\n"


def _file(rows: list[str]) -> str:
    return HEADER + "".join(r + "\n" for r in rows)


def _messy() -> str:
    rows = []
    for i in range(40):
        rate = f"{10 + i % 7}.50%" if i % 2 else f"{10 + i % 7}.5"
        amount = f'"{1000 + i * 37:,}.00"' if i % 3 else f"¥{1000 + i * 37}"
        emp = "10+ years" if i % 4 == 0 else ("< 1 year" if i % 4 == 1 else f"{i % 9} years")
        home = ["RENT", "OWN", "MORTGAGE", "N/A"][i % 4]
        outcome = "" if i == 39 else ("Charged Off" if i % 3 == 0 else "Fully Paid")
        rows.append(f"L{i:04d},{rate},{amount},{emp},{home},,same,{outcome}")
    rows[5] = rows[5].replace("%,", "%,").replace("15.50%", "-999")
    return _file(rows)


def test_messy_columns_are_cleaned_and_reported() -> None:
    data = prepare(_messy(), "outcome", "Charged Off", TrainingSpec())
    report = data.report
    assert report.rows_read == 40
    assert report.rows_missing_target == 1
    assert report.rows_used == 39
    assert report.bad == 13
    by_name = {c.name: c for c in report.columns}
    assert by_name["int_rate"].kind == "numeric"
    assert by_name["int_rate"].coerced["percent"] > 0
    assert by_name["amount"].kind == "numeric"
    assert by_name["amount"].coerced["amount"] == 39
    assert by_name["emp_length"].coerced["duration"] == 39
    assert by_name["home"].kind == "categorical"
    assert by_name["home"].sentinels == 9  # "N/A" (the 10th is in the excluded row)
    assert by_name["home"].missing_share == pytest.approx(9 / 39, abs=1e-6)
    assert by_name["blank"].excluded is Exclusion.EMPTY
    assert by_name["const"].excluded is Exclusion.CONSTANT
    assert by_name["loan_id"].excluded is Exclusion.IDENTIFIER
    assert data.names == ["int_rate", "amount", "emp_length", "home"]
    columns = {c.name: c for c in data.columns}
    assert columns["emp_length"].values[:2] == [10.0, 0.0]
    assert columns["amount"].values[1] == 1037.0
    findings = "\n".join(report.findings())
    assert "1 rows excluded: the target 'outcome' is missing" in findings
    assert "column 'blank' excluded: empty" in findings


def test_sentinel_in_numeric_column_is_missing_not_a_number() -> None:
    data = prepare(_messy(), "outcome", "Charged Off", TrainingSpec())
    rate = next(c for c in data.report.columns if c.name == "int_rate")
    assert rate.sentinels == 1
    assert rate.missing == 1


def test_unparsed_text_in_numeric_column_is_counted() -> None:
    rows = [f"L{i},{i}.0%,{i},1 year,OWN,,same,{'bad' if i % 2 else 'good'}" for i in range(30)]
    rows[3] = rows[3].replace("3.0%", "three")
    data = prepare(_file(rows), "outcome", "bad", TrainingSpec())
    rate = next(c for c in data.report.columns if c.name == "int_rate")
    assert rate.kind == "numeric"
    assert (rate.unparsed, rate.unparsed_examples, rate.missing) == (1, ["three"], 1)


def test_spec_overrides_types_and_exclusions() -> None:
    spec = TrainingSpec(columns={"int_rate": ColumnKind.CATEGORICAL}, exclude=["amount"])
    data = prepare(_messy(), "outcome", "Charged Off", spec)
    by_name = {c.name: c for c in data.report.columns}
    assert by_name["int_rate"].kind == "categorical"
    assert by_name["amount"].excluded is Exclusion.BY_SPEC


def test_unknown_target_column() -> None:
    with pytest.raises(TrainingDataError) as refused:
        prepare(_messy(), "default_flag", "1", TrainingSpec())
    assert refused.value.errors[0].field == "target"
    assert "no column 'default_flag'" in refused.value.detail


def test_target_with_one_class() -> None:
    with pytest.raises(TrainingDataError, match="one class"):
        prepare(_messy(), "outcome", "Defaulted", TrainingSpec())


def test_no_usable_rows() -> None:
    with pytest.raises(TrainingDataError, match="no usable rows"):
        prepare(HEADER, "outcome", "bad", TrainingSpec())
    rows = [f"L{i},1%,2,1 year,OWN,,same," for i in range(5)]
    with pytest.raises(TrainingDataError, match="5 without a target"):
        prepare(_file(rows), "outcome", "bad", TrainingSpec())


def test_only_empty_columns_is_refused() -> None:
    text = "a,b,outcome\n" + "".join(f",,{'bad' if i % 2 else 'good'}\n" for i in range(12))
    with pytest.raises(TrainingDataError, match="no usable column"):
        prepare(text, "outcome", "bad", TrainingSpec())


def test_spec_naming_an_unknown_column() -> None:
    with pytest.raises(TrainingDataError) as refused:
        prepare(_messy(), "outcome", "bad", TrainingSpec(exclude=["nope"]))
    assert refused.value.errors[0].field == "spec.exclude"


def test_high_cardinality_is_flagged() -> None:
    rows = [
        f"{i},{i % 5}%,{i},1 year,city{i % 60},,same,{'bad' if i % 3 else 'good'}"
        for i in range(200)
    ]
    data = prepare(_file(rows), "outcome", "bad", TrainingSpec())
    home = next(c for c in data.report.columns if c.name == "home")
    assert home.high_cardinality
    assert home.distinct == 60
    assert home.excluded is None


def test_applications_are_read_raw_with_short_rows_padded(tmp_path: Path) -> None:
    path = tmp_path / "apps.csv"
    path.write_text('age,income,purpose\n30,"1,000",car\n41\n', encoding="utf-8")
    assert read_applications(path) == [
        {"age": "30", "income": "1,000", "purpose": "car"},
        {"age": "41", "income": "", "purpose": ""},
    ]
    (tmp_path / "header_only.csv").write_text("age\n", encoding="utf-8")
    with pytest.raises(TrainingDataError, match="no data rows"):
        read_applications(tmp_path / "header_only.csv")


def test_too_few_bads_for_the_folds() -> None:
    rows = [f"L{i},1%,{i},1 year,OWN,,same,{'bad' if i < 3 else 'good'}" for i in range(30)]
    with pytest.raises(TrainingDataError, match="5-fold cross-validation needs at least 5"):
        prepare(_file(rows), "outcome", "bad", TrainingSpec())
    assert prepare(_file(rows), "outcome", "bad", TrainingSpec(folds=3)).report.bad == 3
