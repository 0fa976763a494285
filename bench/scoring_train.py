"""Credit-model training and scoring speed.

1. German credit (1,000 rows): clean, 5-fold CV of the scorecard and the boosted challenger,
   final fits, exports (target: under 60 s). Run in a child process, timed end to end
   including the libraries' import, with its peak resident size.
2. A synthetic 30,000-row loan book in messy formats (percent strings, amounts with
   separators, "10+ years", sentinels): the same pipeline (targets: under 5 minutes and
   under 2 GiB resident, sampled every 0.1 s over the child and its own children).
3. Serving, in a fresh process that imports the web application and loads the German
   scorecard from its exported bytes (hash-verified): resident size (target < 400 MiB),
   that no pandas/sklearn/optbinning was imported, the p99 of one score with its reasons
   (target < 10 ms) and batch scores per second (target >= 10,000).

    .venv/bin/python bench/scoring_train.py            # full figures
    .venv/bin/python bench/scoring_train.py --quick    # smoke run (3,000 synthetic rows)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

import benchlib
from lendbridge.scoring.demo import german_credit_path
from lendbridge.scoring.synthetic import messy_loan_book

TARGET_GERMAN_S = 60.0
TARGET_BOOK_S = 300.0
TARGET_BOOK_MIB = 2048.0
TARGET_SERVING_MIB = 400.0
TARGET_P99_MS = 10.0
TARGET_PER_S = 10_000

TRAIN_CHILD = """
import json, sys, time
started = time.perf_counter()
from pathlib import Path
from lendbridge.scoring.dataset import read_training_file
from lendbridge.scoring.spec import TrainingSpec
from lendbridge.scoring.training import train
imported = time.perf_counter()
path, target, bad, out = sys.argv[1:5]
data = read_training_file(Path(path), target, bad, TrainingSpec())
run = train(data, TrainingSpec())
card = run.models[0]
Path(out).write_text(json.dumps({"artifact": card.artifact, "profile": card.profile}))
print(json.dumps({
    "import_s": imported - started,
    "train_s": run.seconds,
    "rows": data.report.rows_used,
    "metrics": {m.family: {k: m.metrics[k] for k in ("auc", "ks", "gini", "brier")}
                for m in run.models},
}))
"""

SERVE_CHILD = """
import json, sys, time, random, uuid
import lendbridge.app  # the serving process: the web application's imports
from lendbridge.scoring.loaded import artifact_bytes, load, sha256
from lendbridge.scoring.demo import german_credit_path
from lendbridge.scoring.dataset import read_applications
saved = json.loads(open(sys.argv[1]).read())
content = artifact_bytes(saved["artifact"])
model = load(model_id=uuid.uuid4(), name="german-scorecard", version=1, family="scorecard",
             content=content, recorded_sha256=sha256(content), profile=saved["profile"])
import psutil
rss = psutil.Process().memory_info().rss / 1024 / 1024
heavy = sorted(m for m in ("pandas", "sklearn", "optbinning") if m in sys.modules)
rows = read_applications(german_credit_path())
rnd = random.Random(5)
for r in rows[:200]:
    model.score(r)  # warm up
latencies = []
for _ in range(int(sys.argv[2])):
    r = rnd.choice(rows)
    t = time.perf_counter()
    model.score(r)
    latencies.append(time.perf_counter() - t)
batch = [rnd.choice(rows) for _ in range(int(sys.argv[3]))]
t = time.perf_counter()
model.score_many(batch)
batch_s = time.perf_counter() - t
print(json.dumps({"rss_mib": rss, "heavy_modules": heavy, "latencies": latencies,
                  "batch": len(batch), "batch_s": batch_s}))
"""


def run_child(code: str, *args: str) -> tuple[dict[str, Any], float, float]:
    """Run ``code`` in a child Python; its JSON answer, wall seconds, peak RSS (MiB) over
    the child and its descendants."""
    started = time.perf_counter()
    # The answer goes to a file, not a pipe: a large answer would fill the pipe and block
    # the child while this loop, which only samples memory, never reads it.
    with tempfile.TemporaryFile() as answer:
        process = subprocess.Popen(
            [sys.executable, "-c", code, *args], stdout=answer, stderr=subprocess.DEVNULL
        )
        peak = 0.0
        watched = psutil.Process(process.pid)
        while process.poll() is None:
            try:
                tree = [watched, *watched.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in tree) / 1024 / 1024)
            except psutil.Error:
                pass
            time.sleep(0.1)
        wall = time.perf_counter() - started
        answer.seek(0)
        out = answer.read()
    if process.returncode != 0:
        raise SystemExit(f"child failed with exit code {process.returncode}")
    return json.loads(out.decode().strip().splitlines()[-1]), wall, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    args = parser.parse_args()
    book_rows = 3_000 if args.quick else 30_000
    info = benchlib.print_machine()
    results: dict[str, Any] = {"machine": info, "command": benchlib.command_line()}
    with tempfile.TemporaryDirectory(prefix="lb_scoring_") as tmp:
        scorecard = Path(tmp) / "scorecard.json"
        german_csv = str(german_credit_path())
        answer, wall, peak = run_child(
            TRAIN_CHILD, german_csv, "creditability", "bad", str(scorecard)
        )
        results["german"] = {**answer, "wall_s": wall, "peak_rss_mib": peak}
        print(
            f"German credit ({answer['rows']} rows, 5-fold CV, both families): {wall:.1f} s wall "
            f"(imports {answer['import_s']:.1f} s, training {answer['train_s']:.1f} s), peak "
            f"{peak:.0f} MiB [{benchlib.verdict(wall < TARGET_GERMAN_S)} < 60 s]"
        )
        for family, m in answer["metrics"].items():
            print(f"  {family:<9} CV AUC {m['auc']:.4f}  KS {m['ks']:.4f}  Brier {m['brier']:.4f}")

        book = Path(tmp) / "book.csv"
        book.write_text(messy_loan_book(book_rows, seed=11), encoding="utf-8")
        answer, wall, peak = run_child(
            TRAIN_CHILD, str(book), "loan_status", "Charged Off", str(Path(tmp) / "book.json")
        )
        results["book"] = {**answer, "wall_s": wall, "peak_rss_mib": peak}
        ok = wall < TARGET_BOOK_S and peak < TARGET_BOOK_MIB
        print(
            f"synthetic messy book ({answer['rows']} rows): {wall:.1f} s wall, peak {peak:.0f} MiB "
            f"[{benchlib.verdict(ok)} < {TARGET_BOOK_S:.0f} s and < {TARGET_BOOK_MIB:.0f} MiB]"
        )
        for family, m in answer["metrics"].items():
            print(f"  {family:<9} CV AUC {m['auc']:.4f}  KS {m['ks']:.4f}  Brier {m['brier']:.4f}")

        singles, batch = (2_000, 20_000) if args.quick else (20_000, 100_000)
        answer, _, _ = run_child(SERVE_CHILD, str(scorecard), str(singles), str(batch))
        latency = benchlib.latency_summary(answer.pop("latencies"))
        per_s = answer["batch"] / answer["batch_s"]
        results["serving"] = {**answer, "latency": latency, "batch_per_s": per_s}
        print(
            f"serving process with the scorecard: {answer['rss_mib']:.0f} MiB resident "
            f"[{benchlib.verdict(answer['rss_mib'] < TARGET_SERVING_MIB)} < 400 MiB]; "
            f"heavy libraries imported: {answer['heavy_modules'] or 'none'}"
        )
        print(
            f"one score with reasons: p50 {latency['p50_ms']:.3f} ms, p99 {latency['p99_ms']:.3f} "
            f"ms [{benchlib.verdict(latency['p99_ms'] < TARGET_P99_MS)} < 10 ms]; batch "
            f"{per_s:,.0f} scores/s [{benchlib.verdict(per_s >= TARGET_PER_S)} >= 10,000]"
        )
    print(benchlib.loadavg())
    print(f"saved {benchlib.save('scoring_train', results)}")


if __name__ == "__main__":
    main()
