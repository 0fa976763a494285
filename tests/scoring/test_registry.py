"""The model registry: versions, hash verification, the champion and its promotion through
maker-checker, and the demo model."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from lendbridge.approvals import service as approvals
from lendbridge.audit.models import AuditRecord
from lendbridge.identity.users import roles_and_permissions
from lendbridge.kit.actor import Actor, system_actor
from lendbridge.scoring import demo, promotion, registry
from lendbridge.scoring.loaded import ArtifactTampered
from lendbridge.scoring.models import ModelStatus, ScoringModel
from lendbridge.scoring.training import TrainedModel, TrainingRun
from tests.identity.factories import staff

SYSTEM = system_actor("tests")
PROMOTE = promotion.PROMOTE.name  # importing promotion registers the approval action


def _register(session: Session, model: TrainedModel, name: str = "credit") -> ScoringModel:
    return registry.register(
        session,
        name=f"{name}-{model.family}",
        family=model.family,
        artifact=model.artifact,
        metrics=model.metrics,
        profile=model.profile,
        report={"rows_used": 1000},
        spec={"folds": 5},
        data_sha256="ab" * 32,
        data_rows=1000,
        actor=SYSTEM,
    )


def _actor(session: Session, *roles: str) -> Actor:
    user = staff(session, *roles)
    granted, permissions = roles_and_permissions(session, user.id)
    return Actor(user_id=str(user.id), roles=granted, permissions=permissions)


def test_versions_count_up_per_name(session: Session, german_run: TrainingRun) -> None:
    card, gbm = german_run.models
    first = _register(session, card)
    second = _register(session, card)
    other = _register(session, gbm)
    assert (first.name, first.version, second.version) == ("credit-scorecard", 1, 2)
    assert (other.name, other.version) == ("credit-gbm", 1)
    assert first.status == second.status == ModelStatus.CHALLENGER
    assert registry.find(session, "credit-scorecard").id == second.id
    assert registry.find(session, "credit-scorecard:1").id == first.id
    assert registry.find(session, str(other.id)).id == other.id
    assert [m.name for m in registry.list_models(session)] == [
        "credit-gbm",
        "credit-scorecard",
        "credit-scorecard",
    ]


def test_a_tampered_artifact_is_refused(session: Session, german_run: TrainingRun) -> None:
    row = _register(session, german_run.models[0])
    session.execute(
        update(ScoringModel)
        .where(ScoringModel.id == row.id)
        .values(artifact=row.artifact.replace(b'"points":[', b'"points":[9', 1))
    )
    session.expire_all()
    with pytest.raises(ArtifactTampered, match="differs from the registered"):
        registry.load(registry.get(session, row.id))
    with pytest.raises(ArtifactTampered):  # nor can it be promoted
        registry.make_champion(session, row.id, SYSTEM)


def test_champion_is_loaded_once(session: Session, german_run: TrainingRun) -> None:
    with pytest.raises(registry.NoChampion):
        registry.champion(session)
    row = _register(session, german_run.models[0])
    registry.make_champion(session, row.id, SYSTEM)
    first = registry.champion(session)
    assert registry.champion(session) is first
    assert first.sha256 == row.artifact_sha256
    assert 300 < first.score({"duration_in_month": 12}).score < 900


def test_promotion_through_maker_checker(session: Session, german_run: TrainingRun) -> None:
    card, gbm = (_register(session, m) for m in german_run.models)
    registry.make_champion(session, card.id, SYSTEM)
    analyst = _actor(session, "risk_analyst")
    checker = _actor(session, "compliance_officer")
    with pytest.raises(approvals.NotAllowedToRequest):
        approvals.request_action(
            session, checker, action=PROMOTE, payload={"model_id": str(gbm.id)}, reason="x"
        )
    with pytest.raises(registry.NotPromotable, match="already the champion"):
        approvals.request_action(
            session,
            analyst,
            action=PROMOTE,
            payload={"model_id": str(card.id)},
            reason="x",
        )
    request = approvals.request_action(
        session,
        analyst,
        action=PROMOTE,
        payload={"model_id": str(gbm.id)},
        reason="higher KS on the latest book",
    )
    assert registry.get(session, gbm.id).status == ModelStatus.CHALLENGER  # not before approval
    with pytest.raises(approvals.OwnRequest):
        approvals.decide(session, analyst, request.id, approve=True, note="mine")
    approvals.decide(session, checker, request.id, approve=True, note="reviewed the metrics")
    assert registry.get(session, gbm.id).status == ModelStatus.CHAMPION
    assert registry.get(session, card.id).status == ModelStatus.CHALLENGER
    assert registry.champion(session).id == gbm.id
    session.commit()
    actions = session.scalars(
        select(AuditRecord.action).where(AuditRecord.target_type == "scoring_model")
    ).all()
    assert actions.count("scoring.model.promoted") == 2
    assert actions.count("scoring.model.registered") == 2


def test_demo_model_is_trained_once(
    session: Session, german_run: TrainingRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []

    def trained() -> TrainingRun:
        calls.append(1)
        return german_run

    monkeypatch.setattr(demo, "demo_training", trained)
    champion = demo.train_demo_model(session, SYSTEM)
    assert champion is not None
    assert (champion.name, champion.status) == ("german-scorecard", "champion")
    assert champion.data_sha256 == german_run.data.fingerprint
    assert champion.spec["target"] == "creditability"
    assert demo.train_demo_model(session, SYSTEM) is None
    assert len(calls) == 1
    assert len(registry.list_models(session)) == 2
