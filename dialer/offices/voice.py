"""Each office's own IVR recordings: its name, address and directions, spoken by espeak-ng and made 8 kHz
16-bit mono WAV by sox, as scripts/make-sounds.sh does for the fixed prompts. Written to
``<sounds>/<lang>/offices/<id>-<part>.wav``, which dialer.ivr.booking plays; run ``dialer office voice``
after adding or editing offices (and copy the folder to the PBX's sounds directory)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path

from dialer.offices.schemas import OfficeOut

RATE = {"ru": 145, "en": 150}
# 8 kHz mono 16-bit, normalised to -3 dBFS, 150 ms of silence at the end (as scripts/make-sounds.sh)
SOX_OUT = ("-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer")
SOX_EFFECTS = ("norm", "-3", "pad", "0", "0.15")


class VoiceError(Exception):
    """espeak-ng or sox is missing or failed."""


def texts(o: OfficeOut) -> dict[str, dict[str, str]]:
    """lang -> part -> text. English falls back to the Russian directions when none are given."""
    return {
        "ru": {"name": o.name, "address": o.address, "directions": o.directions},
        "en": {"name": o.name, "address": o.address, "directions": o.directions_en or o.directions},
    }


def write(offices: Iterable[OfficeOut], sounds: Path) -> list[Path]:
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            raise VoiceError(f"{tool} is not installed (apt-get install espeak-ng sox)")
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        for o in offices:
            for lang, parts in texts(o).items():
                for part, text in parts.items():
                    out = sounds / lang / "offices" / f"{o.id}-{part}.wav"
                    out.parent.mkdir(parents=True, exist_ok=True)
                    try:
                        subprocess.run(
                            ["espeak-ng", "-v", lang, "-s", str(RATE[lang]), "-w", str(raw), "--", text],
                            check=True,
                            capture_output=True,
                            timeout=60,
                        )
                        subprocess.run(
                            ["sox", str(raw), *SOX_OUT, str(out), *SOX_EFFECTS],
                            check=True,
                            capture_output=True,
                            timeout=60,
                        )
                    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
                        raise VoiceError(f"office {o.id} {part} ({lang}): {e}") from None
                    written.append(out)
    return written
