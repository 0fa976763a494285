"""GET /v1/models and /v1/models/{id}: the registry, read only."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from lendbridge.kit.actor import system_actor
from lendbridge.scoring import registry
from lendbridge.scoring.training import TrainingRun


def test_list_and_show(client: TestClient, engine: Engine, german_run: TrainingRun) -> None:
    card = german_run.models[0]
    with Session(engine) as session:
        row = registry.register(
            session,
            name="api-scorecard",
            family=card.family,
            artifact=card.artifact,
            metrics=card.metrics,
            profile=card.profile,
            report={"rows_used": 1000},
            spec={"folds": 5},
            data_sha256="cd" * 32,
            data_rows=1000,
            actor=system_actor("tests"),
        )
        session.commit()
        model_id = row.id
    listed = client.get("/v1/models")
    assert listed.status_code == 200
    [item] = listed.json()["items"]
    assert (item["name"], item["version"], item["status"]) == ("api-scorecard", 1, "challenger")
    assert item["auc"] == f"{card.metrics['auc']:.6f}"
    shown = client.get(f"/v1/models/{model_id}")
    assert shown.status_code == 200
    body = shown.json()
    assert "duration_in_month" in body["characteristics"]
    assert len(body["metrics"]["reliability"]) == 10
    assert isinstance(body["metrics"]["reliability"][0]["observed"], str)
    missing = client.get(f"/v1/models/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert missing.json()["code"] == "scoring.model_not_found"
