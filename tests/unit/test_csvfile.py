"""RFC 4180 reading of contact and application lists (issue 11): standard quoting, only the delimiter
guessed, and every row that can not be read exactly reported with its line, never half stored."""

from __future__ import annotations

import io

import pytest

from dialer.imports.csvfile import CsvFormatError, Row, read_rows, sniff_delimiter

HEADER = "phone,application_number,name\n"


def rows(data: bytes) -> list[Row]:
    return list(read_rows(io.BytesIO(data), required=("phone", "application_number", "name")))


def test_doubled_quotes_inside_a_quoted_field_are_one_quote() -> None:
    got = rows((HEADER + '+79161234567,A-1,"Ivanov ""Jr"", Ivan"\n').encode())
    assert got == [
        Row(2, {"phone": "+79161234567", "application_number": "A-1", "name": 'Ivanov "Jr", Ivan'})
    ]


def test_a_quoted_field_may_span_lines_and_line_numbers_stay_right() -> None:
    got = rows((HEADER + '+79161234567,A-1,"two\nlines"\n+79161234568,A-2,Petrov\n').encode())
    assert [(r.line, r.data["name"], r.error) for r in got] == [(2, "two\nlines", None), (4, "Petrov", None)]


@pytest.mark.parametrize(
    ("header", "delimiter"),
    [("a,b;c", ","), ("a;b;c", ";"), ("a\tb\tc", "\t"), ('"x;y",b,c', ","), ("single", ",")],
)
def test_the_delimiter_is_the_one_the_header_uses_outside_quotes(header: str, delimiter: str) -> None:
    assert sniff_delimiter(header) == delimiter


def test_semicolons_in_cp1251_as_excel_writes_them() -> None:
    data = 'phone;application_number;name\n+79161234567;A-1;"Иванов; Иван"\n'.encode("cp1251")
    assert rows(data)[0].data["name"] == "Иванов; Иван"


def test_broken_quoting_is_reported_and_the_rest_is_read() -> None:
    got = rows((HEADER + '+7916,A-1,"Ivanov"x\n+79161234568,A-2,Petrov\n').encode())
    assert got[0].line == 2 and got[0].data == {} and "not valid CSV" in (got[0].error or "")
    assert got[1] == Row(3, {"phone": "+79161234568", "application_number": "A-2", "name": "Petrov"})


def test_an_unclosed_quote_is_reported_with_the_lines_it_swallowed() -> None:
    got = rows((HEADER + '+79161234567,A-1,"never closed\n+79161234568,A-2,Petrov\n').encode())
    assert len(got) == 1 and got[0].error is not None and got[0].error.startswith("lines 2-3:")


def test_more_values_than_columns_is_rejected_but_empty_trailing_cells_are_fine() -> None:
    got = rows((HEADER + "+79161234567,A-1,Ivanov, Ivan\n+79161234568,A-2,Petrov,,\n").encode())
    assert got[0].error is not None and "4 values but the header has 3 columns" in got[0].error
    assert got[1].error is None and got[1].data["name"] == "Petrov"


def test_nul_bytes_are_rejected() -> None:
    got = rows(HEADER.encode() + b"+79161234567,A-\x001,Ivanov\n+79161234568,A-2,Petrov\n")
    assert got[0].line == 2 and "NUL" in (got[0].error or "")
    assert got[1].error is None


def test_mixed_encodings_are_reported_not_garbled() -> None:
    # a UTF-8 file with one line pasted in from a cp1251 export
    data = (HEADER + "+79161234567,A-1,Иванов\n").encode() + "+79161234568,A-2,Петров\n".encode("cp1251")
    got = rows(data)
    assert got[0].error is None and got[0].data["name"] == "Иванов"
    assert got[1].line == 3 and "not UTF-8" in (got[1].error or "")
    # and a cp1251 file with a UTF-8 line in it
    data = (HEADER + "+79161234567,A-1,Иванов\n").encode("cp1251") + "+79161234568,A-2,Петров\n".encode()
    got = rows(data)
    assert got[0].data["name"] == "Иванов" and "UTF-8 in a cp1251 file" in (got[1].error or "")


def test_a_field_over_the_size_limit_is_a_reported_row_not_a_crash() -> None:
    got = rows((HEADER + '+79161234567,A-1,"' + "x" * 200_000 + '"\n+79161234568,A-2,Petrov\n').encode())
    assert got[0].error is not None and "field larger than field limit" in got[0].error
    assert got[-1].data.get("name") == "Petrov"


def test_bom_and_crlf() -> None:
    got = rows(b"\xef\xbb\xbf" + (HEADER + "+79161234567,A-1,Ivanov\r\n").replace("\n", "\r\n").encode())
    assert got == [Row(2, {"phone": "+79161234567", "application_number": "A-1", "name": "Ivanov"})]


def test_unusable_files_are_one_error() -> None:
    with pytest.raises(CsvFormatError, match="empty"):
        rows(b"")
    with pytest.raises(CsvFormatError, match="missing column"):
        rows(b"phone,name\n+7,x\n")
    with pytest.raises(CsvFormatError, match="NUL"):
        rows(b"phone,appl\x00ication_number,name\n")
