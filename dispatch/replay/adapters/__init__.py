"""Adapters from cities' own exports to the call-stream format, one module per source.

An adapter module has `NAME`, `default_path() -> Path`, `detect(columns) -> bool` and
`read(path) -> CallStream`. To add a city, add a module and list it in `ADAPTERS`, or (for
most exports) write a mapping file instead, read by `mapped` (see `dispatch.replay.mapping`).
"""

from __future__ import annotations

import csv
import importlib
from pathlib import Path
from types import ModuleType

from dispatch.replay.adapters import mapped
from dispatch.replay.mapping import read_mapping
from dispatch.replay.stream import CallStream, StreamError, read_stream

ADAPTERS = ("sf",)


def adapter(name: str) -> ModuleType:
    if name not in ADAPTERS:
        raise StreamError(f"no adapter {name!r} (adapters: {', '.join(ADAPTERS)})")
    return importlib.import_module(f"dispatch.replay.adapters.{name}")


def open_stream(spec: str, *, mapping: Path | None = None, seed: int = 120) -> CallStream:
    """A stream from `FILE.jsonl[.gz]`, `ADAPTER:FILE`, a bare adapter name (its default file),
    a CSV file whose header an adapter recognises, or any CSV read through a mapping file."""
    if mapping is not None:
        return mapped.read(Path(spec), read_mapping(mapping), seed=seed)
    if spec in ADAPTERS:
        module = adapter(spec)
        return module.read(module.default_path())  # type: ignore[no-any-return]
    name, sep, rest = spec.partition(":")
    if sep and name in ADAPTERS:
        return adapter(name).read(Path(rest))  # type: ignore[no-any-return]
    path = Path(spec)
    if not path.is_file():
        raise StreamError(f"{spec}: no such file (or give ADAPTER:FILE; adapters: "
                          f"{', '.join(ADAPTERS)})")
    if path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as handle:
            columns = next(csv.reader(handle), [])
        for candidate in ADAPTERS:
            module = adapter(candidate)
            if module.detect(columns):
                return module.read(path)  # type: ignore[no-any-return]
        raise StreamError(f"{path.name}: no adapter recognises this CSV's columns: give --map "
                          f"FILE (draft one with --write-map {path})")
    return read_stream(path)
