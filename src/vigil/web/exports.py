"""A case's exports: the goAML STR draft and the evidence package of one of its parties,
made by the report writers (`vigil.reports`), kept under the case's folder and recorded in
the audit trail (`export.goaml`, `export.evidence`, `export.cooperation` for the
partner-police package of a beneficiary, and each download)."""

from __future__ import annotations

import re
import secrets
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from vigil.cases.errors import WorkflowError
from vigil.cases.models import Case
from vigil.cases.store import CaseStore
from vigil.cases.workflow import record_export
from vigil.private_files import make_private, private_folder
from vigil.reports.evidence import sha256_of
from vigil.web.jobs import ExportJob, ExportJobs

FORMATS = ("goaml", "evidence", "cooperation")
# made by a background job (seconds to minutes): the pages and the API answer with the job
BACKGROUND = ("evidence",)
_SAFE = re.compile(r"[^A-Za-z0-9_-]+")
_EXPORT_NAME = re.compile(
    r"[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}-(goaml|evidence|cooperation)-[A-Za-z0-9_-]+\.(xml|zip)"
)


# The shipped FIU config's reporting entity is an example: a draft must carry the
# institution's own, so the app refuses to draft until it is given.
FIU_CONFIG_NEEDED = (
    "goAML drafts need your institution's FIU config (reporting entity, codes, XSD): "
    "start the app with `vigil serve --fiu-config FILE`"
)


@dataclass(frozen=True)
class ExportFile:
    name: str
    path: Path
    format: str
    size: int
    created: datetime


def case_folder(exports_dir: Path, case_id: int) -> Path:
    return Path(exports_dir) / f"case-{int(case_id)}"


def list_exports(exports_dir: Path, case_id: int) -> list[ExportFile]:
    """The case's exports, newest first."""
    folder = case_folder(exports_dir, case_id)
    if not folder.is_dir():
        return []
    files = []
    for path in folder.iterdir():
        match = _EXPORT_NAME.fullmatch(path.name)
        if match and path.is_file():
            files.append(_describe(path, match.group(1)))
    return sorted(files, key=lambda f: f.name, reverse=True)


def find_export(exports_dir: Path, case_id: int, name: str) -> ExportFile | None:
    """The export called `name` of this case; None for any other name (no path tricks)."""
    if not _EXPORT_NAME.fullmatch(name):
        return None
    return next((f for f in list_exports(exports_dir, case_id) if f.name == name), None)


def verified_export(exports_dir: Path, case_id: int, name: str, sha256: str) -> ExportFile:
    """The export `name` of the case, checked to still have the SHA-256 the approver saw."""
    found = find_export(exports_dir, case_id, name)
    if found is None:
        raise WorkflowError(f"case {case_id} has no export {name!r}")
    if sha256_of(found.path) != sha256:
        raise WorkflowError(f"export {name} has changed since it was made: its SHA-256 differs")
    return found


def _describe(path: Path, fmt: str) -> ExportFile:
    stat = path.stat()
    return ExportFile(
        name=path.name,
        path=path,
        format=fmt,
        size=stat.st_size,
        created=datetime.fromtimestamp(stat.st_mtime, UTC),
    )


def check_export(
    case: Case, fmt: str, party_kind: str, party_id: str, *, fiu_config: Path | None = None
) -> None:
    """Refuse an export that cannot be made, before any work (a background job's client
    hears of a wrong party at once, not from a failed job)."""
    if fmt not in FORMATS:
        raise WorkflowError(f"unknown export {fmt!r}: one of {', '.join(FORMATS)}")
    if fmt == "goaml" and fiu_config is None:
        raise WorkflowError(FIU_CONFIG_NEEDED)
    if (party_kind, party_id) not in {(p.party_kind, p.party_id) for p in case.parties}:
        raise WorkflowError(f"{party_kind} {party_id} is not a party of case {case.reference}")


def export_case_party(
    store: CaseStore,
    actor: str,
    case: Case,
    fmt: str,
    party_kind: str,
    party_id: str,
    *,
    workspace: Path,
    exports_dir: Path,
    fiu_config: Path | None = None,
    progress: Callable[[str, float], None] | None = None,
) -> ExportFile:
    """Write the `fmt` export of one party of `case` and record it in the audit trail
    (`progress(step, share)` hears how an evidence package is getting on)."""
    from vigil.reports.cooperation import write_cooperation_package
    from vigil.reports.evidence import write_evidence_package
    from vigil.reports.goaml import write_goaml_report

    check_export(case, fmt, party_kind, party_id, fiu_config=fiu_config)
    folder = private_folder(case_folder(exports_dir, case.id))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    stem = f"{stamp}-{secrets.token_hex(3)}-{fmt}-{party_kind}-{_SAFE.sub('_', party_id)}"
    if fmt == "goaml":
        path = folder / f"{stem}.xml"
        write_goaml_report(workspace, party_id, path, fiu_config=fiu_config, party_kind=party_kind)
    else:
        path = folder / f"{stem}.zip"
        with tempfile.TemporaryDirectory(dir=folder) as scratch:
            if fmt == "cooperation":
                package = write_cooperation_package(
                    workspace, party_id, Path(scratch) / stem, party_kind=party_kind
                )
            else:
                package = write_evidence_package(
                    workspace,
                    party_id,
                    Path(scratch) / stem,
                    party_kind=party_kind,
                    case_reference=case.reference,
                    prepared_by=actor,
                    progress=progress,
                )
            _zip_folder(package.out, path)
    make_private(path)
    record_export(store, actor, case.id, fmt, (party_kind, party_id), path.name, sha256_of(path))
    return _describe(path, fmt)


def _zip_folder(folder: Path, target: Path) -> None:
    partial = target.with_suffix(".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, Path(folder.name) / path.relative_to(folder))
    shutil.move(partial, target)


def start_export_job(
    jobs: ExportJobs,
    store: CaseStore,
    actor: str,
    case: Case,
    fmt: str,
    party_kind: str,
    party_id: str,
    *,
    workspace: Path,
    exports_dir: Path,
    fiu_config: Path | None = None,
) -> ExportJob:
    """Check the export, then make it in the background (`export_case_party`, audited the
    same way when its file is written); the job says how it is getting on."""
    check_export(case, fmt, party_kind, party_id, fiu_config=fiu_config)

    def work(progress: Callable[[str, float], None]) -> str:
        made = export_case_party(
            store,
            actor,
            case,
            fmt,
            party_kind,
            party_id,
            workspace=workspace,
            exports_dir=exports_dir,
            fiu_config=fiu_config,
            progress=progress,
        )
        return made.name

    return jobs.start(case.id, actor, fmt, f"{party_kind}:{party_id}", work)
