"""The agencies the pipeline reads. A sixth agency = one module in ``sources/`` + one line here.

Each module implements ``sources.base.SourceModule``: ``NAME``, ``SUBDIR``, ``FILE_PATTERN``,
``FILE_EXAMPLE``, ``TABLES``, ``KIND``, ``PRIMARY``, ``read``, ``conform`` and ``record_key``.
"""

from __future__ import annotations

from types import ModuleType

from sources import child_centres, cpis, epassbook, health_centres, schools

SOURCES: dict[str, ModuleType] = {
    schools.NAME: schools,
    child_centres.NAME: child_centres,
    health_centres.NAME: health_centres,
    cpis.NAME: cpis,
    epassbook.NAME: epassbook,
}
