"""The sandbox build's progress line, read from debootstrap's own output (lines as debootstrap 1.0 on
Debian 12 prints them while building the sid chroot)."""

from __future__ import annotations

from dialer.sandbox.chroot import BuildProgress

OUTPUT = """\
I: Retrieving InRelease
I: Checking Release signature
I: Valid Release signature (key id B8E5F13176D2A7A75220028078DBA3BC47EF2265)
I: Retrieving Packages
I: Validating Packages
I: Resolving dependencies of required packages...
I: Checking component main on http://deb.debian.org/debian...
I: Retrieving adduser 3.159
I: Validating adduser 3.159
I: Retrieving apt 3.3.5
I: Validating apt 3.3.5
I: Retrieving asterisk 1:22.10.1+dfsg+~cs6.17.60671434-1
I: Validating asterisk 1:22.10.1+dfsg+~cs6.17.60671434-1
I: Chosen extractor for .deb packages: dpkg-deb
I: Extracting base-files...
I: Extracting bash...
I: Installing core packages...
I: Unpacking required packages...
I: Unpacking base-files...
I: Configuring required packages...
I: Configuring base-files...
I: Configuring bash...
I: Unpacking the base system...
I: Unpacking asterisk...
I: Configuring the base system...
I: Configuring asterisk...
I: Base system installed successfully.
"""


def test_phases_and_counts_follow_debootstrap() -> None:
    p = BuildProgress()
    seen = []
    for line in OUTPUT.splitlines():
        if p.feed(line):
            seen.append(p.text(0).split(",")[0])
        if line == "I: Validating asterisk 1:22.10.1+dfsg+~cs6.17.60671434-1":
            assert p.text(12) == "sandbox: downloading packages, 3 (12 s of usually 90-140 s)"
        if line == "I: Configuring bash...":
            assert p.text(80) == "sandbox: configuring packages, 2/3 (80 s of usually 90-140 s)"
    assert seen == [
        "sandbox: downloading packages",
        "sandbox: extracting the base system",
        "sandbox: unpacking packages",
        "sandbox: configuring packages",
        "sandbox: unpacking packages",
        "sandbox: configuring packages",
    ]
    assert p.total == 3  # InRelease and Packages are indexes, not packages


def test_before_the_first_package() -> None:
    assert BuildProgress().text(3) == "sandbox: starting debootstrap (3 s)"
