"""The application card: what an agent's screen shows of an application when a call reaches them. One shape
for outbound calls (written when the attempt is placed) and inbound ones (looked up when the IVR passes the
caller on)."""

from __future__ import annotations

from typing import Any

from dialer.db.models import Application


def application_card(app: Application) -> dict[str, Any]:
    return {
        "number": app.number,
        "applicant_name": app.applicant_name,
        "status": app.status,
        "pickup_office": app.pickup_office,
        "office_id": app.office_id,
        "pickup_from": app.pickup_from.isoformat() if app.pickup_from else None,
    }
