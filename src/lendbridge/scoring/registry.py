"""The model registry: registering trained models, finding them, loading them verified, and
making one the champion.

Rules: versions count up per model name from 1 (the unique (name, version) constraint
refuses a concurrent duplicate); a new model starts as a challenger; exactly one champion at
a time, chosen through maker-checker (``models.promote``) or, once, by the system's demo
setup; the champion being replaced becomes a challenger (kept for comparison and a quick
way back). Every change is audited.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, defer, sessionmaker

from lendbridge.audit.service import record
from lendbridge.kit import clock
from lendbridge.kit.actor import Actor
from lendbridge.kit.errors import Conflict, NotFound, ValidationFailed, field_error
from lendbridge.kit.ids import new_id
from lendbridge.scoring import loaded
from lendbridge.scoring.loaded import LoadedModel
from lendbridge.scoring.models import ModelStatus, ScoringModel

TARGET = "scoring_model"
CACHE_SIZE = 8


class ModelNotFound(NotFound):
    code = "scoring.model_not_found"
    title = "No such model"


class NoChampion(NotFound):
    code = "scoring.no_champion"
    title = "No champion model: train one and promote it"


class NotPromotable(Conflict):
    code = "scoring.not_promotable"
    title = "The model cannot become the champion"


def register(
    session: Session,
    *,
    name: str,
    family: str,
    artifact: dict[str, Any],
    metrics: dict[str, Any],
    profile: dict[str, Any],
    report: dict[str, Any],
    spec: dict[str, Any],
    data_sha256: str,
    data_rows: int,
    actor: Actor,
) -> ScoringModel:
    """Store a trained model as the next version of ``name`` (a challenger)."""
    if not 1 <= len(name) <= 64:
        raise field_error(ValidationFailed, "name", "must be 1 to 64 characters")
    latest = session.scalar(select(func.max(ScoringModel.version)).where(ScoringModel.name == name))
    content = loaded.artifact_bytes(artifact)
    row = ScoringModel(
        id=new_id(),
        name=name,
        version=(latest or 0) + 1,
        family=family,
        status=ModelStatus.CHALLENGER.value,
        data_sha256=data_sha256,
        data_rows=data_rows,
        spec=spec,
        metrics=metrics,
        report=report,
        profile=profile,
        artifact=content,
        artifact_sha256=loaded.sha256(content),
        created_by=(actor.user_id or "anonymous")[:128],
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor,
        action="scoring.model.registered",
        target_type=TARGET,
        target_id=str(row.id),
        after={
            "name": row.name,
            "version": row.version,
            "family": row.family,
            "status": row.status,
            "data_sha256": row.data_sha256,
            "artifact_sha256": row.artifact_sha256,
            "auc": metrics.get("auc"),
        },
    )
    return row


def list_models(session: Session) -> list[ScoringModel]:
    return list(
        session.scalars(
            select(ScoringModel)
            .options(defer(ScoringModel.artifact))
            .order_by(ScoringModel.name, ScoringModel.version.desc())
        )
    )


def get(session: Session, model_id: uuid.UUID) -> ScoringModel:
    row = session.get(ScoringModel, model_id)
    if row is None:
        raise ModelNotFound(f"no model {model_id}")
    return row


def find(session: Session, reference: str) -> ScoringModel:
    """A model by id, by ``name:version``, or by name (its newest version)."""
    try:
        return get(session, uuid.UUID(reference))
    except ValueError:
        pass
    name, _, version = reference.partition(":")
    query = select(ScoringModel).where(ScoringModel.name == name)
    if version:
        if not version.isdigit():
            raise field_error(ModelNotFound, "model", f"{reference!r}: the version is a number")
        query = query.where(ScoringModel.version == int(version))
    row = session.scalar(query.order_by(ScoringModel.version.desc()).limit(1))
    if row is None:
        raise ModelNotFound(f"no model {reference!r}")
    return row


def champion_row(session: Session) -> ScoringModel | None:
    return session.scalar(
        select(ScoringModel).where(ScoringModel.status == ModelStatus.CHAMPION.value)
    )


_cache: OrderedDict[tuple[uuid.UUID, str], LoadedModel] = OrderedDict()
_cache_lock = threading.Lock()
# One thread loads a model while the others asking for it wait: a burst of first requests
# would otherwise each read and parse the artifact at once (seconds of CPU, every pooled
# connection held meanwhile).
_loading_lock = threading.Lock()


def load(row: ScoringModel) -> LoadedModel:
    """The model ready to score, hash-verified; held once per process per (id, sha256)."""
    key = (row.id, row.artifact_sha256)
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
            return cached
    model = loaded.load(
        model_id=row.id,
        name=row.name,
        version=row.version,
        family=row.family,
        content=row.artifact,
        recorded_sha256=row.artifact_sha256,
        profile=row.profile,
    )
    with _cache_lock:
        _cache[key] = model
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return model


_CHAMPION_KEY = select(ScoringModel.id, ScoringModel.artifact_sha256).where(
    ScoringModel.status == ModelStatus.CHAMPION.value
)  # built once: asked on every application


def champion(session: Session) -> LoadedModel:
    """The champion, loaded (from the process cache after the first call)."""
    key = session.execute(_CHAMPION_KEY).first()
    if key is None:
        raise NoChampion("no model is the champion yet")
    with _cache_lock:
        cached = _cache.get((key[0], key[1]))
    if cached is not None:
        return cached
    with _loading_lock:
        with _cache_lock:
            cached = _cache.get((key[0], key[1]))
        return cached if cached is not None else load(get(session, key[0]))


def warm(factory: sessionmaker[Session]) -> LoadedModel | None:
    """Load the champion now (a server's start), so that no request pays for it; None when
    there is none yet or the database cannot say (not migrated): requests will tell."""
    try:
        with factory() as session:
            return champion(session)
    except (NoChampion, SQLAlchemyError):
        return None


def check_promotable(row: ScoringModel) -> None:
    if row.status == ModelStatus.CHAMPION:
        raise NotPromotable(f"{row.name} v{row.version} is already the champion")
    if row.status == ModelStatus.RETIRED:
        raise NotPromotable(f"{row.name} v{row.version} is retired")
    load(row)  # a model whose artifact fails verification never becomes the champion


def make_champion(
    session: Session, model_id: uuid.UUID, actor: Actor, *, approval_id: str | None = None
) -> ScoringModel:
    """Make the model the champion; the previous champion becomes a challenger."""
    row = session.scalar(select(ScoringModel).where(ScoringModel.id == model_id).with_for_update())
    if row is None:
        raise ModelNotFound(f"no model {model_id}")
    check_promotable(row)
    previous = champion_row(session)
    if previous is not None:
        previous.status = ModelStatus.CHALLENGER.value
        session.flush()  # free the one-champion index before taking it
    row.status = ModelStatus.CHAMPION.value
    row.promoted_at = clock.now()
    session.flush()
    record(
        session,
        actor,
        action="scoring.model.promoted",
        target_type=TARGET,
        target_id=str(row.id),
        before={"status": ModelStatus.CHALLENGER.value, "previous_champion": _label(previous)},
        after={
            "status": row.status,
            "name": row.name,
            "version": row.version,
            "artifact_sha256": row.artifact_sha256,
            "approval_id": approval_id,
        },
    )
    return row


def _label(row: ScoringModel | None) -> str | None:
    return None if row is None else f"{row.name} v{row.version} ({row.id})"
