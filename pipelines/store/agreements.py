"""Data-sharing agreements: what each agency shares, on which legal basis, and where it may go.

One YAML file per source in ``pipelines/store/agreements/`` (see ``schools.yaml`` for the
format). A field is published to a database only if the agreement of the source the value came
from lists that database under the field's ``publish``; everything else stays out of the store.
Published columns declare how they derive from standard fields with a :class:`Derivation`, which
drives both the agreement filter (a column whose inputs no agreement permits is not published)
and the OpenLineage column lineage.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from schemas.columns import SOURCES

AGREEMENTS_DIR = Path(__file__).parent / "agreements"
TARGETS = ("identity", "analytics")
TABLES = (
    "person",
    *(
        "school_enrolment",
        "centre_enrolment",
        "vaccination",
        "growth",
        "protection_case",
        "family_problem",
    ),
)
_REQUIRED = (
    "agreement_id",
    "source",
    "provider",
    "purpose",
    "legal_basis",
    "retention",
    "files",
    "fields",
)


class AgreementError(ValueError):
    """An agreement file is missing, malformed, or a source has no agreement."""


@dataclass(frozen=True)
class FieldTerms:
    """What an agreement says about one standard field."""

    table: str
    field: str
    columns: tuple[str, ...]
    publish: frozenset[str]


@dataclass(frozen=True)
class Agreement:
    """One agency's data-sharing agreement."""

    source: str
    agreement_id: str
    provider: str
    purpose: str
    legal_basis: tuple[dict, ...]
    sensitive_data: bool
    retention: dict
    files: dict[str, str]
    fields: dict[tuple[str, str], FieldTerms]
    sha256: str
    reference: str = ""

    def permits(self, table: str, field_name: str, target: str) -> bool:
        """Whether values of ``table.field_name`` may be published to ``target``.

        The reporting month of a delivery (``month``) is delivery metadata and always usable for
        a table the agency delivers.
        """
        if field_name == "month":
            return table in self.files
        terms = self.fields.get((table, field_name))
        return terms is not None and target in terms.publish

    def columns(self, table: str, field_name: str) -> tuple[str, ...]:
        """The delivered columns a standard field comes from (for column lineage)."""
        if field_name == "month":
            return ("_month",)
        terms = self.fields.get((table, field_name))
        return terms.columns if terms else ()

    def summary(self) -> dict:
        """Terms an auditor needs, for manifests and lineage facets."""
        return {
            "agreement_id": self.agreement_id,
            "reference": self.reference,
            "provider": self.provider,
            "purpose": self.purpose,
            "legal_basis": [dict(b) for b in self.legal_basis],
            "sensitive_data": self.sensitive_data,
            "retention": dict(self.retention),
            "sha256": self.sha256,
        }


def _parse(path: Path) -> Agreement:
    raw_bytes = path.read_bytes()
    doc = yaml.load(raw_bytes, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if not isinstance(doc, dict):
        raise AgreementError(f"{path.name}: not a mapping")
    missing = [k for k in _REQUIRED if k not in doc]
    if missing:
        raise AgreementError(f"{path.name}: missing {missing}")
    if doc["source"] not in SOURCES or path.stem != doc["source"]:
        raise AgreementError(
            f"{path.name}: source must be one of {SOURCES} and match the file name"
        )
    fields: dict[tuple[str, str], FieldTerms] = {}
    for table, spec in (doc["fields"] or {}).items():
        if table not in TABLES or not isinstance(spec, dict):
            raise AgreementError(f"{path.name}: unknown table {table!r}")
        for name, terms in spec.items():
            publish = frozenset(terms.get("publish") or ())
            if not publish <= set(TARGETS):
                raise AgreementError(f"{path.name}: {table}.{name} publish must be in {TARGETS}")
            fields[(table, name)] = FieldTerms(table, name, tuple(terms.get("from") or ()), publish)
    return Agreement(
        source=doc["source"],
        agreement_id=str(doc["agreement_id"]),
        provider=str(doc["provider"]),
        purpose=str(doc["purpose"]).strip(),
        legal_basis=tuple(dict(b) for b in doc["legal_basis"]),
        sensitive_data=bool(doc.get("sensitive_data", False)),
        retention=dict(doc["retention"]),
        files=dict(doc["files"]),
        fields=fields,
        sha256=hashlib.sha256(raw_bytes).hexdigest(),
        reference=str(doc.get("reference", "")),
    )


def load_agreements(directory: Path | str | None = None) -> dict[str, Agreement]:
    """Read every ``<source>.yaml`` agreement in ``directory`` (default: the packaged ones)."""
    directory = Path(directory) if directory is not None else AGREEMENTS_DIR
    found = {a.source: a for a in map(_parse, sorted(directory.glob("*.yaml")))}
    if not found:
        raise AgreementError(f"no agreements in {directory}")
    return found


def require_agreements(agreements: dict[str, Agreement], sources: Iterable[str]) -> None:
    """Refuse to publish data from a source that has no agreement."""
    lacking = sorted(set(sources) - set(agreements))
    if lacking:
        raise AgreementError(f"no data-sharing agreement for source(s) {lacking}")


def permitting(
    agreements: dict[str, Agreement], table: str, field_name: str, target: str
) -> list[str]:
    """Sources whose agreement lets ``table.field_name`` be published to ``target``."""
    return sorted(s for s, a in agreements.items() if a.permits(table, field_name, target))


def sql_source_in(sources: Iterable[str], column: str = "source") -> str:
    """A SQL predicate ``column IN (...)`` over known source names (FALSE when empty)."""
    names = [s for s in sources if s in SOURCES]  # a closed vocabulary: safe to inline
    return f"{column} IN ({', '.join(repr(s) for s in names)})" if names else "FALSE"


@dataclass(frozen=True)
class Derivation:
    """How a published column derives from standard fields.

    Attributes:
        inputs: ``(standard table, field)`` or ``(table, field, source)`` the column is computed
            from; a third element restricts the input to one source.
        subtype: OpenLineage DIRECT subtype: IDENTITY, TRANSFORMATION or AGGREGATION.
        masking: True when the original values cannot be read back (bands, months, flags, ids).
        description: the transformation in words, for auditors.
        needs: inputs of which at least one must be permitted for the column to be published
            (default: ``inputs``).
        use: permission target checked for the inputs (default: the database published to).
    """

    inputs: tuple[tuple[str, ...], ...]
    subtype: str = "IDENTITY"
    masking: bool = False
    description: str = ""
    needs: tuple[tuple[str, ...], ...] | None = None
    use: str | None = None

    def resolve(
        self,
        agreements: dict[str, Agreement],
        target: str,
        only: tuple[tuple[str, ...], ...] | None = None,
    ) -> list[tuple[str, str, str]]:
        """``(source, table, field)`` triples that feed this column under the agreements."""
        use = self.use or target
        out = []
        for table, name, *restrict in only if only is not None else self.inputs:
            for src in permitting(agreements, table, name, use):
                if not restrict or src == restrict[0]:
                    out.append((src, table, name))
        return out

    def available(self, agreements: dict[str, Agreement], target: str) -> bool:
        """Whether at least one needed input is permitted, i.e. the column may be published."""
        return bool(self.resolve(agreements, target, self.needs or self.inputs))
