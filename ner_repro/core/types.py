"""Type aliases shared by the package."""

from __future__ import annotations

import os

#: A file path as callers give it: ``str`` or any ``os.PathLike``.
PathLike = str | os.PathLike[str]
