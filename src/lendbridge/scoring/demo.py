"""The demo's credit model: trained at setup on the shipped German credit file, the
scorecard made champion directly (the system's setup, audited), the boosting kept as its
challenger. Does nothing when a champion already exists."""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from lendbridge.kit.actor import Actor
from lendbridge.scoring import registry, service
from lendbridge.scoring.dataset import read_training_file
from lendbridge.scoring.models import ScoringModel
from lendbridge.scoring.spec import TrainingSpec

if TYPE_CHECKING:
    from lendbridge.scoring.training import TrainingRun

DEMO_NAME = "german"
TARGET = "creditability"
BAD_VALUE = "bad"


def german_credit_path() -> Path:
    return Path(str(resources.files("lendbridge.scoring") / "data" / "german_credit.csv"))


@functools.cache
def demo_training() -> TrainingRun:
    """The German credit run, once per process: the file and the seed are fixed, so a second
    run would fit the very same models (setting up several demo databases in one process,
    as the tests do, trains once)."""
    from lendbridge.scoring.training import train

    spec = TrainingSpec()
    return train(read_training_file(german_credit_path(), TARGET, BAD_VALUE, spec), spec)


def train_demo_model(session: Session, actor: Actor) -> ScoringModel | None:
    """Train the demo models and make the scorecard champion; None if a champion exists."""
    if registry.champion_row(session) is not None:
        return None
    trained = service.register_run(session, demo_training(), name=DEMO_NAME, actor=actor)
    card = next(m for m in trained.models if m.family == "scorecard")
    return registry.make_champion(session, card.id, actor)
