"""CLI start-up: CPU seconds of small datacraft commands in fresh processes, and how much of it is fixed cost.

Commands: ``--help``, a tiny ``run`` (1 document, ``length``), ``apply langid`` of 1 document and ``dedup`` of a
600-document corpus (4 JSONL shards made by ``bench/corpus.py``). Each runs ``--repeat`` times (best kept) in a
fresh interpreter; CPU = user + system of the whole process tree (``os.wait4``). "in run" is the CPU the
command's own clock counted (``OUT/stats.json``: from the start of the run to its end, workers included), so
"total − in run" is the fixed cost: interpreter, imports, config validation, exit. Two reference rows give the
floor: the interpreter importing only ``pyarrow.parquet``, and importing the libraries every data command
needs (pyarrow.parquet, pydantic's BaseModel, click, yaml).

With ``--baseline DIR`` (another checkout, e.g. ``git archive <commit> | tar -x -C DIR``) the same commands
also run with ``PYTHONPATH=DIR``, alternated with this checkout, and the heavy modules each side imported
are listed. Both sides' sources are byte-compiled first (``compileall``), as an installed package is; without
that (``--no-compile``, or PYTHONDONTWRITEBYTECODE with no ``__pycache__``) every command also pays for
compiling datacraft's own modules (~0.05–0.1 CPU-s).

    python bench/startup_bench.py --baseline /tmp/base --repeat 3
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
HEAVY = ("pandas", "tensorflow", "trafilatura", "datasketch", "ftfy", "phonenumbers", "scipy", "warcio", "fsspec")
PROBE = (
    "import json, runpy, sys\n"
    "out, sys.argv = sys.argv[1], ['datacraft', *sys.argv[2:]]\n"
    "try:\n    runpy.run_module('datacraft', run_name='__main__')\n"
    "except SystemExit:\n    pass\n"
    "json.dump(sorted({m.split('.')[0] for m in sys.modules}), open(out, 'w'))\n"
)
REFERENCES = {
    "python -c 'import pyarrow.parquet'": "import pyarrow.parquet",
    "python: pyarrow.parquet, pydantic, click, yaml": "import pyarrow.parquet, click, yaml\n"
    "from pydantic import BaseModel\nclass A(BaseModel):\n    x: int = 1\n",
}


def measure(argv: list[str], pythonpath: str | None, cwd: Path) -> float:
    """CPU seconds of the whole process tree of one fresh ``python ARGV`` process."""
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    proc = subprocess.Popen(
        [sys.executable, *argv], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd
    )
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({status})")
    return usage.ru_utime + usage.ru_stime


def in_run_cpu(out: Path | None) -> float | None:
    """The CPU seconds a run's own clock counted (its stats.json), if it wrote one."""
    if out is None or not (out / "stats.json").is_file():
        return None
    return float(json.loads((out / "stats.json").read_text())["time"]["cpu_seconds"])


def make_inputs(work: Path) -> dict[str, tuple[list[str], Path | None]]:
    """The commands, as datacraft arguments and the output folder holding their stats.json."""
    from corpus import generate, write_shards

    src = work / "in.jsonl"
    src.write_text('{"id": "a", "text": "Hello world, this is a short English text."}\n', encoding="utf-8")
    pipe = work / "tiny.yaml"
    pipe.write_text(
        f"name: tiny\ninput: {{paths: [{src}]}}\noutput: {{path: {work / 'run'}}}\nstages:\n  - length: {{}}\n"
    )
    write_shards(generate(600, seed=0), work / "d600", 4)
    return {
        "datacraft --help": (["--help"], None),
        "datacraft run tiny.yaml (1 doc, length)": (["run", str(pipe), "--force", "-q"], work / "run"),
        "datacraft apply langid (1 doc)": (
            ["apply", "langid", "-i", str(src), "-o", str(work / "apply"), "--force", "-q"],
            work / "apply",
        ),
        "datacraft dedup (600 docs, 4 shards)": (
            ["dedup", str(work / "d600"), str(work / "dedup"), "--force", "-q"],
            work / "dedup",
        ),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", help="another checkout to compare with (its folder goes on PYTHONPATH)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-compile", action="store_true", help="do not byte-compile both sides' sources first")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="startup-"))
    commands = make_inputs(work)
    sides = {"this checkout": str(ROOT)} | ({"baseline": args.baseline} if args.baseline else {})
    if not args.no_compile:
        for path in sides.values():
            compileall.compile_dir(str(Path(path) / "datacraft"), quiet=1)
    best: dict[tuple[str, str], float] = {}
    in_run: dict[tuple[str, str], float] = {}
    heavy: dict[tuple[str, str], list[str]] = {}
    modules = work / "modules.json"
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    for _ in range(args.repeat):
        for label, code in REFERENCES.items():
            cpu = measure(["-c", code], None, work)
            best[(label, "ref")] = min(best.get((label, "ref"), cpu), cpu)
        for label, (argv, out) in commands.items():
            for side, path in sides.items():
                cpu = measure(["-c", PROBE, str(modules), *argv], path, work)
                key = (label, side)
                if cpu < best.get(key, float("inf")):
                    best[key] = cpu
                    run_cpu = in_run_cpu(out)
                    if run_cpu is not None:
                        in_run[key] = run_cpu
                found = set(json.loads(modules.read_text()))
                heavy[key] = [m for m in HEAVY if m in found]
    cols = list(sides)
    print(
        f"| command | {' | '.join(f'{s} CPU s (in run)' for s in cols)} | heavy modules imported ({' / '.join(cols)}) |"
    )
    print("|---|" + "---:|" * len(cols) + "---|")
    for label in REFERENCES:
        print(f"| {label} | {best[(label, 'ref')]:.2f} |" + " |" * (len(cols) - 1) + " |")
    for label in commands:
        cells = []
        for s in cols:
            run = in_run.get((label, s))
            cells.append(f"{best[(label, s)]:.2f}" + (f" ({run:.2f})" if run is not None else ""))
        mods = " / ".join(", ".join(heavy[(label, s)]) or "none" for s in cols)
        print(f"| {label} | {' | '.join(cells)} | {mods} |")
    print(
        f"\nbest of {args.repeat}; load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end "
        f"({time.perf_counter() - t0:.0f} s); sources byte-compiled: {not args.no_compile}"
    )


if __name__ == "__main__":
    main()
