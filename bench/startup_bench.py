"""CLI start-up: CPU seconds of `datacraft --help`, a tiny `run` and a tiny `apply langid`, in fresh processes.

Each command runs ``--repeat`` times (best kept) in a fresh interpreter; CPU = user + system of the whole
process tree (``os.wait4``). With ``--baseline DIR`` (another checkout, e.g. ``git archive <commit> | tar -x
-C DIR``) the same commands also run with ``PYTHONPATH=DIR``, alternated with this checkout, and the
heavy modules each side imported are listed.

    python bench/startup_bench.py --baseline /tmp/base --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("pandas", "tensorflow", "trafilatura", "datasketch", "ftfy", "phonenumbers", "scipy", "warcio", "fsspec")
PROBE = (
    "import json, runpy, sys\n"
    "out, sys.argv = sys.argv[1], ['datacraft', *sys.argv[2:]]\n"
    "try:\n    runpy.run_module('datacraft', run_name='__main__')\n"
    "except SystemExit:\n    pass\n"
    "json.dump(sorted({m.split('.')[0] for m in sys.modules}), open(out, 'w'))\n"
)


def measure(args: list[str], pythonpath: str | None, modules_out: Path) -> tuple[float, float]:
    """CPU and wall seconds of one fresh ``datacraft ARGS`` process (modules it imported go to ``modules_out``)."""
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", PROBE, str(modules_out), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=modules_out.parent,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"datacraft {' '.join(args)} failed ({status})")
    return usage.ru_utime + usage.ru_stime, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", help="another checkout to compare with (its folder goes on PYTHONPATH)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="startup-"))
    src = work / "in.jsonl"
    src.write_text('{"id": "a", "text": "Hello world, this is a short English text."}\n', encoding="utf-8")
    pipe = work / "tiny.yaml"
    pipe.write_text(
        f"name: tiny\ninput: {{paths: [{src}]}}\noutput: {{path: {work / 'run'}}}\nstages:\n  - length: {{}}\n"
    )
    commands = {
        "datacraft --help": ["--help"],
        "datacraft run tiny.yaml (1 doc, length)": ["run", str(pipe), "--force", "-q"],
        "datacraft apply langid (1 doc)": [
            "apply",
            "langid",
            "-i",
            str(src),
            "-o",
            str(work / "apply"),
            "--force",
            "-q",
        ],
    }
    sides = {"this checkout": str(ROOT)} | ({"baseline": args.baseline} if args.baseline else {})
    best: dict[tuple[str, str], float] = {}
    heavy: dict[tuple[str, str], list[str]] = {}
    for _ in range(args.repeat):
        for label, argv in commands.items():
            for side, path in sides.items():
                cpu, _wall = measure(argv, path, work / "modules.json")
                best[(label, side)] = min(best.get((label, side), cpu), cpu)
                found = set(json.loads((work / "modules.json").read_text()))
                heavy[(label, side)] = [m for m in HEAVY if m in found]
    cols = list(sides)
    print(f"| command | {' | '.join(f'{s} CPU s' for s in cols)} | heavy modules imported ({' / '.join(cols)}) |")
    print("|---|" + "---:|" * len(cols) + "---|")
    for label in commands:
        cpu = " | ".join(f"{best[(label, s)]:.2f}" for s in cols)
        mods = " / ".join(", ".join(heavy[(label, s)]) or "none" for s in cols)
        print(f"| {label} | {cpu} | {mods} |")
    print(f"\nbest of {args.repeat}; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
