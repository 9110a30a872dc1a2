#!/usr/bin/env python3
"""505 IVR as a classic AGI script: ``AGI(ivr.py)`` or ``AGI(ivr.py,/path/to/dialer-ivr.conf)``.

The call flow itself is dialer.ivr.flow, shared with the FastAGI route; this file only finds it. Installed
next to an ``ivr-lib/`` folder (``dialer ivr bundle DEST`` writes both; the sandbox installs them); run from
a checkout, it uses the checkout. If the flow cannot even be imported (a PBX without the bundle), the caller
is still handed to an operator rather than left in silence.
"""

import os
import sys
from pathlib import Path

HERE = os.path.dirname(os.path.abspath(__file__))
LIB = os.path.join(HERE, "ivr-lib")
sys.path.insert(0, LIB if os.path.isdir(LIB) else os.path.dirname(HERE))


def fallback() -> int:
    """Plain AGI without any library: APP_STATUS=unavailable, IVR_TRANSFER=operator."""
    for line in sys.stdin:
        if not line.strip():
            break
    for cmd in ('SET VARIABLE APP_STATUS "unavailable"', 'SET VARIABLE IVR_TRANSFER "operator"'):
        sys.stdout.write(cmd + "\n")
        sys.stdout.flush()
        if not sys.stdin.readline():
            break
    return 0


if __name__ == "__main__":
    try:
        from dialer.ivr.classic import main
    except Exception as e:  # anything at all: the caller must not hear silence
        sys.stderr.write(f"ivr.py: cannot load the IVR ({e}); sending the caller to an operator\n")
        sys.exit(fallback())
    sys.exit(main(sys.argv[1:], script_dir=Path(HERE)))
