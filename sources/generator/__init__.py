"""Synthetic monthly extracts of the five agencies, with ground truth, for tests and demos.

``generate(children, seed, out_dir, months=1, first_month="202605")`` writes
``<out_dir>/incoming/<source>/...`` exactly as shared/contracts/extracts.md lays it out, and
``<out_dir>/truth/records.parquet`` (one row per person-record: source, record_key, month,
person_id, family_id, is_child, dirt) and ``<out_dir>/truth/persons.parquet`` (one row per person).
The ``dirt`` column lists the row-level dirt injected into each record (tags in :mod:`.dirt`).
"""

from .core import GenerateResult, generate
from .dirt import UNRECOVERABLE, DirtRates

__all__ = ["UNRECOVERABLE", "DirtRates", "GenerateResult", "generate"]
