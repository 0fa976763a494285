"""One German credit training run per test session, shared by the scoring tests."""

from __future__ import annotations

import pytest

from lendbridge.scoring.dataset import TrainingData, read_training_file
from lendbridge.scoring.demo import BAD_VALUE, TARGET, german_credit_path
from lendbridge.scoring.spec import TrainingSpec
from lendbridge.scoring.training import TrainingRun, train


@pytest.fixture(scope="session")
def german_data() -> TrainingData:
    return read_training_file(german_credit_path(), TARGET, BAD_VALUE, TrainingSpec())


@pytest.fixture(scope="session")
def german_run(german_data: TrainingData) -> TrainingRun:
    return train(german_data, TrainingSpec())
