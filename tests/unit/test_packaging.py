"""The package's metadata as an installer sees it."""

from __future__ import annotations

import importlib.metadata


def test_license_is_an_spdx_expression_not_the_deprecated_table() -> None:
    # the table form ({text = "MIT"}) makes setuptools warn on every install and lands in "License:"
    md = importlib.metadata.metadata("dialer505")
    assert md["License-Expression"] == "MIT"
    assert md.get("License") is None
