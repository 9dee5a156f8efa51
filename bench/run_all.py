"""Run every benchmark (`make bench`): the commands recorded in bench/RESULTS.md.

    python bench/run_all.py                 # all of them, full size (takes an hour or more on 2 cores)
    python bench/run_all.py --quick         # small sizes, to check they all still run (a few minutes)
    python bench/run_all.py --only passthrough mix

Benchmarks that compare against datatrove need its separate environment (bench/setup_datatrove_env.sh);
those that read ../shared/data are skipped when it is absent. Output goes to bench/out/logs/NAME.log.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SHARED = REPO.parent / "shared" / "data"
DATATROVE = Path(os.environ.get("DATATROVE_PYTHON", HERE / ".venv-datatrove" / "bin" / "python"))

# name: (full arguments, quick arguments, needs ../shared, needs datatrove)
BENCHES: dict[str, tuple[list[str], list[str], bool, bool]] = {
    "passthrough": (
        ["passthrough.py", "--sizes", "100000", "400000", "--repeat", "2"],
        ["passthrough.py", "--sizes", "20000", "--repeat", "1"],
        False,
        False,
    ),
    "mix": (["mix_bench.py"], ["mix_bench.py"], False, False),
    "report": (
        ["report.py", "--docs", "200000", "--caps", "10000,100000,0"],
        ["report.py", "--docs", "20000", "--caps", "10000"],
        False,
        False,
    ),
    "langid": (["langid_bench.py", "--per-language", "--whole"], ["langid_bench.py"], True, False),
    "quality": (["quality_bench.py"], ["quality_bench.py", "--generated", "300", "--skip-rss"], True, True),
    "html": (["html_extraction.py"], ["html_extraction.py"], True, False),
    "dedup-editions": (["dedup_bench.py", "editions"], ["dedup_bench.py", "editions"], True, False),
    "dedup-synthetic": (
        ["dedup_bench.py", "synthetic", "--docs", "20000"],
        ["dedup_bench.py", "synthetic", "--docs", "2000"],
        False,
        False,
    ),
    "train": (
        ["train_bench.py"],
        ["train_bench.py", "--skip", "lm", "lang", "quality", "--throughput-steps", "5", "--repeats", "1"],
        True,
        False,
    ),
    "ablate": (
        ["ablate_bench.py", "--tokens", "200000"],
        [
            "ablate_bench.py",
            "--tokens",
            "20000",
            "--heldout-chapters",
            "4",
            "--set",
            "epochs=1",
            "--out",
            "bench/out/ablate-quick",
        ],
        False,
        False,
    ),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes: check that every benchmark runs")
    ap.add_argument("--only", nargs="+", choices=sorted(BENCHES), help="run only these")
    args = ap.parse_args()
    logs = HERE / "out" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(REPO), "DATATROVE_PYTHON": str(DATATROVE)}
    failed = []
    for name in args.only or BENCHES:
        full, quick, needs_shared, needs_datatrove = BENCHES[name]
        if needs_shared and not SHARED.is_dir():
            print(f"{name:<16} skipped: ../shared/data is absent")
            continue
        if needs_datatrove and not DATATROVE.exists():
            print(f"{name:<16} skipped: no datatrove environment (run bench/setup_datatrove_env.sh)")
            continue
        cmd = [sys.executable, str(HERE / (quick if args.quick else full)[0]), *(quick if args.quick else full)[1:]]
        t0 = time.perf_counter()
        with open(logs / f"{name}.log", "w") as log:
            rc = subprocess.call(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        status = "ok" if rc == 0 else f"FAILED (exit {rc})"
        print(f"{name:<16} {status:<18} {time.perf_counter() - t0:7.1f}s  {logs / (name + '.log')}")
        if rc:
            failed.append(name)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
