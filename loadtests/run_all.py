"""Run every benchmark in loadtests/ (each `bench_*.py` module's `main`), as `make bench` does."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main() -> int:
    failed = []
    for module in sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)])):
        if not module.startswith("bench_"):
            continue
        print(f"== {module}", flush=True)
        if importlib.import_module(f"loadtests.{module}").main([]) != 0:
            failed.append(module)
    if failed:
        print("targets missed: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
