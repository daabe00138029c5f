"""sketches, furniture and sites: what the one pipeline keeps per article

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("site", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("sketch", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("furniture", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("painted", sa.LargeBinary(), nullable=True))
        batch_op.add_column(
            sa.Column("prepared_with", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("lead_block", sa.BigInteger(), nullable=True))
        batch_op.create_index(batch_op.f("ix_articles_lead_block"), ["lead_block"], unique=False)
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("vector_key", sa.String(length=64), nullable=True))
    op.create_table(
        "block_sites",
        sa.Column("site_hash", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("key_hash", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("group_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("site_hash", "key_hash", "group_id"),
    )


def downgrade() -> None:
    op.drop_table("block_sites")
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.drop_column("vector_key")
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_articles_lead_block"))
        batch_op.drop_column("lead_block")
        batch_op.drop_column("prepared_with")
        batch_op.drop_column("painted")
        batch_op.drop_column("furniture")
        batch_op.drop_column("sketch")
        batch_op.drop_column("site")
