"""A one-line progress bar on a terminal (nothing when the output is not a TTY)."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable
from typing import TextIO

WIDTH = 28


def bar(done: float, total: float) -> str:
    share = 0.0 if total <= 0 else min(max(done / total, 0.0), 1.0)
    filled = int(share * WIDTH)
    return "[" + "#" * filled + "." * (WIDTH - filled) + f"] {share * 100:5.1f}%"


class Progress:
    """Redraws `line()` a few times a second while the replay runs."""

    def __init__(self, line: Callable[[], str], *, stream: TextIO = sys.stderr,
                 enabled: bool = True, interval: float = 0.5, log_every: float = 60.0) -> None:
        self.line = line
        self.stream = stream
        self.tty = stream.isatty()
        self.enabled = enabled
        # Not a terminal (a log file, CI): one plain line now and then instead of redrawing.
        self.interval = interval if self.tty else log_every
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.enabled:
            self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            self.draw()
            await asyncio.sleep(self.interval)

    def draw(self) -> None:
        if self.tty:
            self.stream.write("\r\x1b[2K" + self.line()[:200])
        else:
            self.stream.write(self.line()[:200] + "\n")
        self.stream.flush()

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.draw()
            if self.tty:
                self.stream.write("\n")
                self.stream.flush()
