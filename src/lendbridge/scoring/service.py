"""Training, evaluating and monitoring models on files: the operations behind
``lendbridge model ...`` (services flush; the command commits)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from lendbridge.kit.actor import Actor
from lendbridge.kit.errors import field_error
from lendbridge.scoring import metrics, registry
from lendbridge.scoring.cleaning import clean_category, is_missing
from lendbridge.scoring.dataset import TrainingDataError, read_applications, read_training_file
from lendbridge.scoring.models import ScoringModel
from lendbridge.scoring.monitor import MonitorReport
from lendbridge.scoring.spec import TrainingSpec

if TYPE_CHECKING:  # the training module imports the fitting libraries
    from lendbridge.scoring.training import TrainingRun

DEFAULT_NAME = "credit"


@dataclass
class Trained:
    models: list[ScoringModel]
    report: dict[str, Any]
    seconds: float


def model_name(base: str, family: str) -> str:
    return f"{base}-{family}"


def train_file(
    session: Session,
    path: Path,
    *,
    target: str,
    bad_value: str,
    spec: TrainingSpec,
    name: str,
    actor: Actor,
) -> Trained:
    """Read, clean, cross-validate and fit both families on ``path``; register both as
    challengers (named ``<name>-scorecard`` and ``<name>-gbm``)."""
    from lendbridge.scoring.training import train  # the fitting libraries: training only

    data = read_training_file(path, target, bad_value, spec)
    return register_run(session, train(data, spec), name=name, actor=actor)


def register_run(session: Session, run: TrainingRun, *, name: str, actor: Actor) -> Trained:
    """Register a training run's models as the next versions of ``<name>-<family>``."""
    data, spec = run.data, run.spec
    report = data.report.to_dict()
    document = {
        **spec.model_dump(mode="json"),
        "target": data.report.target,
        "bad_value": data.report.bad_value,
    }
    rows = [
        registry.register(
            session,
            name=model_name(name, m.family),
            family=m.family,
            artifact=m.artifact,
            metrics=m.metrics,
            profile=m.profile,
            report=report,
            spec=document,
            data_sha256=data.fingerprint,
            data_rows=data.report.rows_used,
            actor=actor,
        )
        for m in run.models
    ]
    return Trained(rows, report, run.seconds)


def evaluate_file(row: ScoringModel, path: Path, target: str, bad_value: str) -> dict[str, Any]:
    """A stored model's AUC, KS, Gini, Brier and reliability on a labelled CSV."""
    model = registry.load(row)
    applications = read_applications(path)
    if target not in applications[0]:
        raise field_error(TrainingDataError, "target", f"no column {target!r} in the file")
    labelled = [a for a in applications if not is_missing(a.get(target))]
    labels = [1 if clean_category(a[target]).lower() == bad_value.lower() else 0 for a in labelled]
    if not labelled:
        raise field_error(TrainingDataError, "data", "no labelled rows to evaluate on")
    if sum(labels) in (0, len(labels)):
        raise field_error(TrainingDataError, "bad_value", "the target has one class only")
    probabilities = [p for _, p in model.score_many(labelled)]
    return {
        "model": model.label,
        "rows": len(applications),
        "rows_missing_target": len(applications) - len(labelled),
        **{k: round(v, 6) for k, v in metrics.summary(labels, probabilities).items()},
        "reliability": metrics.reliability(labels, probabilities),
    }


def monitor_file(row: ScoringModel, path: Path) -> MonitorReport:
    model = registry.load(row)
    rows: list[Any] = read_applications(path)
    return model.monitor(rows)
