"""Background import jobs: an upload is streamed to a file on disk, then imported in batches while the
browser polls (or listens to) its progress. Jobs live in memory; the audit log keeps finished imports."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Literal

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from pydantic import BaseModel

from dialer.campaigns.schemas import RejectedRow
from dialer.db.types import utcnow
from dialer.errors import ServiceError
from dialer.imports.csvfile import CsvFormatError, read_rows

log = logging.getLogger(__name__)

JOBS = web.AppKey("import_jobs", dict)  # dict[str, ImportJob]
KEEP_JOBS = 50
MAX_UPLOAD = 4 * 1024**3
CHUNK = 256 * 1024

Kind = Literal["applications", "contacts"]


class ImportJobOut(BaseModel):
    id: str
    kind: Kind
    target: str | None
    filename: str
    state: Literal["running", "done", "failed"]
    error: str | None
    bytes_total: int
    bytes_read: int
    percent: float
    total_rows: int
    accepted: int
    rejected: int
    warnings: int = 0  # rows kept, with a warning (e.g. an application number callers can not key)
    created: int
    updated: int
    dnc: int
    started_at: datetime
    finished_at: datetime | None
    created_by: str


class CountingReader(io.RawIOBase):
    """Counts the bytes the CSV reader has pulled from the file: the progress bar's numerator."""

    def __init__(self, f: IO[bytes]) -> None:
        self.f = f
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        n = self.f.readinto(b)  # type: ignore[attr-defined]
        self.count += n or 0
        return int(n or 0)


@dataclass
class ImportJob:
    kind: Kind
    target: str | None
    filename: str
    created_by: str
    bytes_total: int
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    state: Literal["running", "done", "failed"] = "running"
    error: str | None = None
    reader: CountingReader | None = None
    total_rows: int = 0
    accepted: int = 0
    created: int = 0
    updated: int = 0
    dnc: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)
    warnings: list[RejectedRow] = field(default_factory=list)
    started_at: datetime = field(default_factory=utcnow)
    finished_at: datetime | None = None
    task: asyncio.Task[None] | None = None

    def progress(self, report: Any) -> None:
        """Called by the import services after each batch with their report so far."""
        self.total_rows = report.total_rows
        self.accepted = report.accepted
        self.rejected = report.rejected
        self.warnings = getattr(report, "warnings", [])
        self.created = getattr(report, "created", getattr(report, "applications_created", 0))
        self.updated = getattr(report, "updated", 0)
        self.dnc = getattr(report, "dnc", 0)

    def out(self) -> ImportJobOut:
        read = self.bytes_total if self.state != "running" else (self.reader.count if self.reader else 0)
        read = min(read, self.bytes_total)
        return ImportJobOut(
            id=self.id,
            kind=self.kind,
            target=self.target,
            filename=self.filename,
            state=self.state,
            error=self.error,
            bytes_total=self.bytes_total,
            bytes_read=read,
            percent=round(100.0 * read / self.bytes_total, 1) if self.bytes_total else 100.0,
            total_rows=self.total_rows,
            accepted=self.accepted,
            rejected=len(self.rejected),
            warnings=len(self.warnings),
            created=self.created,
            updated=self.updated,
            dnc=self.dnc,
            started_at=self.started_at,
            finished_at=self.finished_at,
            created_by=self.created_by,
        )


async def receive_upload(request: web.Request, directory: Path) -> tuple[Path, str, int]:
    """Stream the multipart part named 'file' to disk in small chunks (never the whole file in memory)."""
    try:
        return await _receive(request, directory)
    except (HttpProcessingError, ValueError, UnicodeDecodeError) as e:
        if isinstance(e, ServiceError):
            raise
        raise ServiceError(
            f"malformed multipart upload, or cut short ({type(e).__name__}); nothing was imported",
            field="file",
        ) from None


async def _receive(request: web.Request, directory: Path) -> tuple[Path, str, int]:
    reader = await request.multipart()
    while True:
        part = await reader.next()
        if part is None:
            raise ServiceError("no file: send it in a multipart part named 'file'", field="file")
        if isinstance(part, BodyPartReader) and part.name == "file":
            break
        if isinstance(part, BodyPartReader):
            await part.release()
    fd, name = _mkstemp(directory)
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := await part.read_chunk(CHUNK):
                size += len(chunk)
                if size > MAX_UPLOAD:
                    raise ServiceError(f"the file is larger than {MAX_UPLOAD // 1024**3} GiB", field="file")
                out.write(chunk)
            # a body that stops before the part's closing boundary is a cut-short upload: refuse it, never
            # import the part that arrived
            if not part.at_eof():
                raise ServiceError(
                    "the upload was cut short before the file ended; nothing was imported", field="file"
                )
            for _ in range(100):  # the rest of the form, up to its closing boundary
                extra = await reader.next()
                if extra is None:
                    break
                await extra.release()
            if not reader.at_eof():
                raise ServiceError(
                    "the upload has no closing boundary (cut short?); nothing was imported", field="file"
                )
    except BaseException:
        discard(Path(name))
        raise
    filename = (part.filename or "upload.csv").replace("\x00", "")[:200]
    return Path(name), filename, size


def _mkstemp(directory: Path) -> tuple[int, str]:
    directory.mkdir(parents=True, exist_ok=True)
    return tempfile.mkstemp(prefix="import-", suffix=".csv", dir=directory)


def discard(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def check_header(path: Path, required: tuple[str, ...]) -> None:
    """Refuse a file with no header or without the needed columns at once, before any job starts."""
    with open(path, "rb") as f:
        try:
            next(read_rows(f, required=required), None)
        except CsvFormatError as e:
            raise ServiceError(f"file: {e}", field="file") from None
        except Exception as e:  # a broken CSV (csv.Error), reported as the caller's mistake
            raise ServiceError(f"file: not a readable CSV ({e})", field="file") from None


Runner = Callable[[IO[bytes], ImportJob], Awaitable[Any]]


def start(app: web.Application, job: ImportJob, path: Path, run: Runner) -> ImportJob:
    jobs: dict[str, ImportJob] = app[JOBS]
    finished = [j for j in jobs.values() if j.state != "running"]
    for old in finished[: max(0, len(jobs) - KEEP_JOBS + 1)]:
        jobs.pop(old.id, None)
    jobs[job.id] = job

    async def body() -> None:
        try:
            with open(path, "rb") as f:
                job.reader = CountingReader(f)
                stream = io.BufferedReader(job.reader, CHUNK)
                report = await run(stream, job)
                job.progress(report)
            job.state = "done"
        except ServiceError as e:
            job.state, job.error = "failed", str(e)
        except asyncio.CancelledError:
            job.state, job.error = "failed", "the service stopped during the import"
            raise
        except Exception as e:
            log.exception("import %s failed", job.id)
            job.state, job.error = "failed", f"internal error ({type(e).__name__}); see the service log"
        finally:
            job.finished_at = utcnow()
            discard(path)

    job.task = asyncio.get_running_loop().create_task(body(), name=f"import-{job.id}")
    return job


def install(app: web.Application) -> None:
    app[JOBS] = {}

    async def cancel(app: web.Application) -> None:
        for job in app[JOBS].values():
            if job.task is not None and not job.task.done():
                job.task.cancel()
                with contextlib.suppress(BaseException):
                    await job.task

    app.on_cleanup.append(cancel)
