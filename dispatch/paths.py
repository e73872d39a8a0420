"""Find the project's top-level folders (migrations/, static/) in a checkout or an image."""

from __future__ import annotations

import os
from pathlib import Path

from dispatch.config import ConfigurationError


def project_dir(name: str, marker: str) -> Path:
    """Locate `name/` holding `marker`: $DISPATCH_<NAME>_DIR, beside the package, or in cwd."""
    env = f"DISPATCH_{name.upper()}_DIR"
    candidates = [
        Path(os.environ[env]) if env in os.environ else None,
        Path(__file__).resolve().parent.parent / name,
        Path.cwd() / name,
    ]
    for candidate in candidates:
        if candidate is not None and (candidate / marker).exists():
            return candidate
    raise ConfigurationError(f"{name}/ not found; set {env}")
