"""Per-process RSS of a ``datacraft dedup`` run over time: which phase peaks, in which process, anon vs file.

    python bench/dedup_rss_profile.py IN OUT [--workers 2] [--mode near] [--interval 0.05] [--repo DIR]

Runs ``python -m datacraft dedup IN OUT --mode near --workers N --quiet --force`` as a child, samples the
RSS of every descendant (psutil) and, at each new peak of the RSS sum, the ``smaps_rollup`` of every process
(anonymous vs file-backed resident memory). The phase is the newest completion marker under ``OUT/_dedup``.
Prints one JSON object: peak RSS sum, peak PSS sum, the processes at the peak (role, RSS, anon, file), the
peak per phase, each process's own peak (and their sum: the tree's peak if they coincided) and the CPU
seconds of the whole process tree (``wait4`` of the child: every descendant is reaped inside the tree).
``--repo`` runs another checkout's datacraft (its PYTHONPATH) for a before/after.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parent.parent


def _rollup(pid: int) -> dict[str, int]:
    out: dict[str, int] = {}
    with contextlib.suppress(OSError, ValueError), open(f"/proc/{pid}/smaps_rollup") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) >= 2 and parts[0] in (
                "Rss:",
                "Pss:",
                "Anonymous:",
                "AnonHugePages:",
                "Shared_Clean:",
                "Private_Clean:",
            ):
                out[parts[0][:-1]] = int(parts[1]) // 1024
    return out


def _role(p: psutil.Process, root: int) -> str:
    try:
        cmd = " ".join(p.cmdline())
    except psutil.Error:
        return "?"
    if p.pid == root:
        return "driver"
    if "forkserver" in cmd:
        return "fork server"
    if "resource_tracker" in cmd:
        return "resource tracker"
    return "worker"


def _phase(out: Path) -> str:
    """The phase running now, from the completion markers written so far."""
    work = out / "_dedup" / "_done"
    names = [p.name for p in work.glob("*")] if work.is_dir() else []
    if (out / "_done").is_dir() and any((out / "_done").iterdir()):
        return "4 filter"
    if "clusters" in " ".join(names):
        return "4 filter"
    if any(n.startswith(("band", "exact")) for n in names):
        return "3 clusters (or 2)"
    if any(n.startswith("sig") for n in names):
        return "2 pairs (or 1)"
    return "1 signatures"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inp")
    ap.add_argument("out")
    ap.add_argument("--workers", default="2")
    ap.add_argument("--mode", default="near")
    ap.add_argument("--interval", type=float, default=0.05)
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--repo", default=str(REPO), help="checkout whose datacraft runs (default: this one)")
    args = ap.parse_args()
    cmd = [args.python, "-m", "datacraft", "dedup", args.inp, args.out, "--mode", args.mode]
    cmd += ["--workers", args.workers, "--quiet", "--force"]
    env = {**os.environ, "PYTHONPATH": str(Path(args.repo).resolve())}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env)
    root = psutil.Process(proc.pid)
    peak, peak_pss, at_peak, by_phase = 0, 0, [], {}
    by_process: dict[int, list[Any]] = {}  # pid -> [role, its own peak RSS]
    ticks = 0
    out = Path(args.out)
    rusage = None
    while rusage is None:
        with contextlib.suppress(psutil.Error):
            procs = [root, *root.children(recursive=True)]
            each = []
            for p in procs:
                with contextlib.suppress(psutil.Error):
                    each.append((p, p.memory_info().rss >> 20))
            total = sum(r for _, r in each)
            for p, r in each:
                if p.pid not in by_process:
                    by_process[p.pid] = [_role(p, proc.pid), r]
                by_process[p.pid][1] = max(by_process[p.pid][1], r)
            phase = _phase(out)
            by_phase[phase] = max(by_phase.get(phase, 0), total)
            if total > peak:
                peak = total
                ranked = sorted(each, key=lambda x: -x[1])
                at_peak = [{"role": _role(p, proc.pid), "rss": r, **_rollup(p.pid)} for p, r in ranked]
                at_peak.insert(0, {"phase": phase, "t": round(time.perf_counter() - t0, 1)})
            ticks += 1
            if ticks % 4 == 0:
                peak_pss = max(peak_pss, sum(_rollup(p.pid).get("Pss", 0) for p, _ in each))
        time.sleep(args.interval)
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            rusage = ru
            proc.returncode = os.waitstatus_to_exitcode(status)
    result: dict[str, Any] = {
        "rc": proc.returncode,
        "wall_s": round(time.perf_counter() - t0, 1),
        "tree_cpu_s": round(rusage.ru_utime + rusage.ru_stime, 2),
        "peak_tree_rss_mib": peak,
        "peak_tree_pss_mib": peak_pss,
        "at_peak": at_peak,
        "peak_rss_by_phase": by_phase,
        # each process's own peak, whenever it came: their sum bounds the tree's peak whatever the timing
        "process_peaks_mib": sorted((v for v in by_process.values()), key=lambda v: -v[1]),
        "sum_of_process_peaks_mib": sum(v[1] for v in by_process.values()),
        "load": os.getloadavg(),
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
