"""The serving side stays light: loading and scoring a model imports no pandas, scikit-learn
or optbinning (the serving process's memory budget depends on it)."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
import lendbridge.app
from lendbridge.scoring import registry, loaded, scorer, gbm, monitor, demo, commands
heavy = sorted(m for m in ("pandas", "sklearn", "optbinning") if m in sys.modules)
print(",".join(heavy))
"""


def test_serving_imports_no_training_library() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == ""
