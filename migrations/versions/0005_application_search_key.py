"""applications.search_key: the number's digits, what a caller keys on the phone (issue 16)

Revision ID: 0005
Revises: 0004

Existing rows are filled in batches by primary key with the same Python function the service uses
(dialer.applications.keys.search_key), so both databases get identical keys; then the index is built.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from dialer.applications.keys import search_key

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000


def upgrade() -> None:
    with op.batch_alter_table("applications") as batch_op:
        batch_op.add_column(sa.Column("search_key", sa.String(length=32), server_default="", nullable=False))
    conn = op.get_bind()
    apps = sa.table("applications", sa.column("id", sa.Integer), sa.column("number", sa.String))
    key_param = sa.table("applications", sa.column("id", sa.Integer), sa.column("search_key", sa.String))
    last = 0
    while True:
        rows = conn.execute(
            sa.select(apps.c.id, apps.c.number).where(apps.c.id > last).order_by(apps.c.id).limit(BATCH)
        ).all()
        if not rows:
            break
        conn.execute(
            key_param.update()
            .where(key_param.c.id == sa.bindparam("app_id"))
            .values(search_key=sa.bindparam("key")),
            [{"app_id": r.id, "key": search_key(r.number or "")} for r in rows],
        )
        last = rows[-1].id
    op.create_index(op.f("ix_applications_search_key"), "applications", ["search_key"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_applications_search_key"), table_name="applications")
    with op.batch_alter_table("applications") as batch_op:
        batch_op.drop_column("search_key")
