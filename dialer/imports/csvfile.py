"""Read a CSV export row by row, whatever spreadsheet wrote it: UTF-8 (with or without BOM) or cp1251,
separated by ',', ';' or tab. Never loads the file into memory."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

SAMPLE = 64 * 1024


class CsvFormatError(ValueError):
    """The file as a whole is unusable (no header, missing required columns)."""


@dataclass(frozen=True)
class Row:
    line: int  # line number in the file, as a spreadsheet shows it (header = 1)
    data: dict[str, str]


@dataclass
class Rejected:
    line: int
    reason: str
    raw: str = ""


def detect_encoding(sample: bytes) -> str:
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as e:
        # a multi-byte character cut at the end of the sample is still UTF-8
        if e.start >= len(sample) - 3:
            return "utf-8"
        return "cp1251"


def _dialect(text_sample: str) -> type[csv.Dialect] | csv.Dialect:
    try:
        return csv.Sniffer().sniff(text_sample.split("\n", 20)[0] if text_sample else ",", delimiters=",;\t")
    except csv.Error:
        return csv.excel


def _norm_header(h: str) -> str:
    return h.strip().lower().replace(" ", "_").replace("-", "_")


def read_rows(stream: IO[bytes], required: tuple[str, ...] = ()) -> Iterator[Row]:
    """Yield rows with lower-cased, stripped header keys and stripped values."""
    buffered: io.BufferedReader = (
        stream if isinstance(stream, io.BufferedReader) else io.BufferedReader(stream, SAMPLE)  # type: ignore[arg-type]
    )
    sample = buffered.peek(SAMPLE)[:SAMPLE]
    encoding = detect_encoding(sample)
    text = io.TextIOWrapper(buffered, encoding=encoding, newline="", errors="replace")
    dialect = _dialect(sample.decode(encoding, errors="replace"))
    reader = csv.reader(text, dialect)
    try:
        header = next(reader)
    except StopIteration:
        raise CsvFormatError("the file is empty") from None
    keys = [_norm_header(h) for h in header]
    missing = [r for r in required if r not in keys]
    if missing:
        raise CsvFormatError(
            f"missing column(s): {', '.join(missing)}; the header must name {', '.join(required)} "
            f"(found: {', '.join(k for k in keys if k) or 'nothing'})"
        )
    for values in reader:
        if not any(v.strip() for v in values):
            continue
        line = reader.line_num
        row = {k: (values[i].strip() if i < len(values) else "") for i, k in enumerate(keys) if k}
        if len(values) > len(keys):
            row["__extra__"] = ",".join(values[len(keys) :])
        yield Row(line, row)
