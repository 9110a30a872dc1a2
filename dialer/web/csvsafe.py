"""CSV cells that a spreadsheet will not run: text starting with ``=``, ``+``, ``-``, ``@`` (or a tab or
carriage return) is read by Excel and LibreOffice as a formula, so a name typed as ``=HYPERLINK(...)`` in
an import or a disposition note would run on the admin's machine when the export is opened. Such cells get
a leading ``'`` (OWASP's advice). Plain numbers, phone numbers included (``+79161234567``, ``-5``), are left
as they are: a spreadsheet reads them as numbers, which runs nothing."""

from __future__ import annotations

import re
from typing import Any

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?[0-9][0-9 ()./-]*$")


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_TRIGGERS) and not _NUMBER.match(value):
        return "'" + value
    return value
