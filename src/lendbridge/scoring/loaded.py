"""A registered model ready to score: its exported artifact verified and parsed.

Importing this module imports no pandas, sklearn or optbinning: the serving process only
needs the plain-data scorers.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lendbridge.kit.errors import Conflict
from lendbridge.scoring.gbm import GbmScorer
from lendbridge.scoring.monitor import MonitorReport, monitor
from lendbridge.scoring.result import ScoreResult
from lendbridge.scoring.scorer import ScorecardScorer


class ArtifactTampered(Conflict):
    status = 500
    code = "scoring.artifact_tampered"
    title = "The stored model does not match its recorded hash; it was not loaded"


def artifact_bytes(artifact: Mapping[str, Any]) -> bytes:
    """The canonical bytes of an export (sorted keys, no spaces): what is hashed and stored."""
    return json.dumps(artifact, sort_keys=True, separators=(",", ":")).encode("utf-8")


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


@dataclass(frozen=True, slots=True)
class ModelInput:
    """One characteristic the model reads: a number, or one of the categories it knows."""

    name: str
    numeric: bool
    categories: tuple[str, ...]


@dataclass(frozen=True)
class LoadedModel:
    id: uuid.UUID
    name: str
    version: int
    family: str
    sha256: str
    scorer: ScorecardScorer | GbmScorer
    profile: Mapping[str, Any]

    @property
    def label(self) -> str:
        return f"{self.name} v{self.version}"

    @property
    def characteristics(self) -> list[str]:
        return self.scorer.names

    @property
    def inputs(self) -> list[ModelInput]:
        """What an application must give the model (the origination flow checks it)."""
        scorer = self.scorer
        if isinstance(scorer, ScorecardScorer):
            return [
                ModelInput(c.name, c.numeric, tuple(sorted(c.categories)))
                for c in scorer.characteristics
            ]
        return [ModelInput(f.name, f.numeric, tuple(sorted(f.codes))) for f in scorer.features]

    def score(self, features: Mapping[str, object]) -> ScoreResult:
        return self.scorer.score(features)

    def score_many(self, rows: Iterable[Mapping[str, object]]) -> list[tuple[int, float]]:
        return self.scorer.score_many(rows)

    def monitor(self, rows: Sequence[Mapping[str, object]]) -> MonitorReport:
        """PSI of ``rows`` (applications, as name -> raw value) against training."""
        return monitor(self.scorer, self.profile, rows, self.scorer.sentinels)


def load(
    *,
    model_id: uuid.UUID,
    name: str,
    version: int,
    family: str,
    content: bytes,
    recorded_sha256: str,
    profile: Mapping[str, Any],
) -> LoadedModel:
    """Parse a stored artifact after checking its bytes against the registry's hash."""
    actual = sha256(content)
    if actual != recorded_sha256:
        raise ArtifactTampered(
            f"model {name} v{version}: artifact sha256 {actual[:12]}… differs from the "
            f"registered {recorded_sha256[:12]}…"
        )
    document = json.loads(content)
    scorer: ScorecardScorer | GbmScorer
    scorer = ScorecardScorer(document) if family == "scorecard" else GbmScorer(document)
    return LoadedModel(model_id, name, version, family, actual, scorer, profile)
