"""`make bench`: run every benchmark in turn; each prints its figures and writes results/."""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = [
    "loadtests.bench_routing",
    "loadtests.bench_fanout",
    "loadtests.bench_intake",
    "loadtests.bench_fleet",
    "loadtests.bench_requests",
    "loadtests.bench_replay",
]


def main() -> None:
    failed = []
    for module in BENCHMARKS:
        print(f"== {module}", flush=True)
        if subprocess.run([sys.executable, "-m", module], check=False).returncode != 0:
            failed.append(module)
    if failed:
        print("failed: " + ", ".join(failed))
        raise SystemExit(1)


if __name__ == "__main__":
    main()
