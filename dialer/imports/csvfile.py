"""Read a CSV export row by row, whatever spreadsheet wrote it: UTF-8 (with or without BOM) or cp1251,
separated by ',', ';' or tab. Never loads the file into memory.

Parsing is RFC 4180 with the csv module's standard quoting (``""`` inside a quoted field is one ``"``);
only the delimiter is guessed, from the header line. A row that can not be read exactly (broken quoting,
a NUL byte, a line in another encoding than the rest of the file, more values than the header has
columns) comes back as a ``Row`` with ``error`` set, for the import's report: it is never stored half.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

SAMPLE = 64 * 1024
MAX_LINE = 1024 * 1024  # a physical line longer than this is cut and its row rejected
DELIMITERS = ",;\t"


class CsvFormatError(ValueError):
    """The file as a whole is unusable (no header, missing required columns)."""


@dataclass(frozen=True)
class Row:
    line: int  # line number in the file, as a spreadsheet shows it (header = 1)
    data: dict[str, str]
    error: str | None = None  # why the row could not be read; such a row must be rejected, not stored


@dataclass
class Rejected:
    line: int
    reason: str
    raw: str = ""


def detect_encoding(sample: bytes) -> str:
    """UTF-8 or cp1251, by the lines of the sample that are not plain ASCII: the encoding most of them
    are in (a tie goes to the first one's), so one pasted-in line in the other encoding is the one
    reported as mixed, not the rest of the file."""
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    lines = sample.split(b"\n")
    if len(lines) > 1 and len(sample) >= SAMPLE:
        lines = lines[:-1]  # the last line may be cut mid-character
    utf8 = cp1251 = 0
    first = ""
    for line in lines:
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            utf8 += 1
            first = first or "utf-8"
        except UnicodeDecodeError:
            cp1251 += 1
            first = first or "cp1251"
    if utf8 == cp1251:
        return first or "utf-8"
    return "utf-8" if utf8 > cp1251 else "cp1251"


def sniff_delimiter(header: str) -> str:
    """The delimiter the header line uses most, outside quotes (',' when there is none)."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for ch in header:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


@dataclass
class _Lines:
    """Decoded physical lines, numbered, with what was wrong with each (by line number)."""

    stream: io.BufferedReader
    encoding: str
    count: int = 0
    problems: dict[int, str] = field(default_factory=dict)

    def _decode(self, raw: bytes) -> str:
        n = self.count
        if b"\x00" in raw:
            self.problems[n] = f"line {n} contains a NUL byte"
            raw = raw.replace(b"\x00", b"")
        if self.encoding.startswith("utf-8"):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                self.problems.setdefault(
                    n, f"line {n} is not UTF-8 like the rest of the file (mixed encodings?)"
                )
                text = raw.decode("utf-8", "replace")
            if n == 1 and self.encoding == "utf-8-sig":
                text = text.removeprefix("\ufeff")
            return text
        if not raw.isascii():
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                pass
            else:  # valid UTF-8 with letters beyond ASCII: garbage if read as cp1251
                self.problems.setdefault(n, f"line {n} is UTF-8 in a cp1251 file (mixed encodings?)")
        return raw.decode("cp1251", "replace")

    def __iter__(self) -> Iterator[str]:
        while True:
            raw = self.stream.readline(MAX_LINE)
            if not raw:
                return
            self.count += 1
            if len(raw) >= MAX_LINE and not raw.endswith(b"\n"):
                self.problems[self.count] = f"line {self.count} is longer than {MAX_LINE // 1024} KB"
                while (rest := self.stream.readline(MAX_LINE)) and not rest.endswith(b"\n"):
                    pass
                raw += b"\n"
            yield self._decode(raw)

    def problem_in(self, first: int, last: int) -> str | None:
        for n in range(first, last + 1):
            if n in self.problems:
                return self.problems.pop(n)
        return None


def _norm_header(h: str) -> str:
    return h.strip().lower().replace(" ", "_").replace("-", "_")


def _where(first: int, last: int) -> str:
    return f"line {first}" if first >= last else f"lines {first}-{last}"


def read_rows(stream: IO[bytes], required: tuple[str, ...] = ()) -> Iterator[Row]:
    """Yield rows with lower-cased, stripped header keys and stripped values; unreadable rows with
    ``error`` set. Raises CsvFormatError (on the first ``next``) when the header is unusable."""
    buffered: io.BufferedReader = (
        stream if isinstance(stream, io.BufferedReader) else io.BufferedReader(stream, SAMPLE)  # type: ignore[arg-type]
    )
    sample = buffered.peek(SAMPLE)[:SAMPLE]
    lines = _Lines(buffered, detect_encoding(sample))
    it = iter(lines)
    first = next(it, None)
    if first is None:
        raise CsvFormatError("the file is empty")
    delimiter = sniff_delimiter(first)

    def physical() -> Iterator[str]:
        yield first
        yield from it

    reader = csv.reader(physical(), delimiter=delimiter, quotechar='"', doublequote=True, strict=True)
    try:
        header = next(reader)
    except csv.Error as e:
        raise CsvFormatError(f"the header line is not valid CSV: {e}") from None
    except StopIteration:
        raise CsvFormatError("the file is empty") from None
    bad = lines.problem_in(1, lines.count)
    if bad:
        raise CsvFormatError(f"the header: {bad}")
    keys = [_norm_header(h) for h in header]
    missing = [r for r in required if r not in keys]
    if missing:
        raise CsvFormatError(
            f"missing column(s): {', '.join(missing)}; the header must name {', '.join(required)} "
            f"(found: {', '.join(k for k in keys if k) or 'nothing'})"
        )
    width = len(keys)
    while True:
        start = lines.count + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            end = max(start, lines.count)
            lines.problem_in(start, end)
            yield Row(start, {}, f"{_where(start, end)}: not valid CSV ({e}); the row was not imported")
            continue
        end = max(start, lines.count)
        if not any(v.strip() for v in values):
            lines.problem_in(start, end)
            continue
        problem = lines.problem_in(start, end)
        if problem:
            yield Row(start, {}, f"{problem}; the row was not imported")
            continue
        if len(values) > width and any(v.strip() for v in values[width:]):
            yield Row(
                start,
                {},
                f"{_where(start, end)}: {len(values)} values but the header has {width} columns "
                f"(an unquoted '{delimiter}' inside a value?); the row was not imported",
            )
            continue
        yield Row(start, {k: (values[i].strip() if i < len(values) else "") for i, k in enumerate(keys) if k})
