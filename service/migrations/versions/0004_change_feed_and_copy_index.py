"""change feed and copy index: the live writes in commit order, which every serving process
replays; the LSH band keys and quotable headline terms of stored pages, so that copy
detection asks the store rather than each process holding every page

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "changes",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.Column("groups", sa.JSON(), nullable=False),
        sa.Column("merges", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_index(op.f("ix_changes_at"), "changes", ["at"], unique=False)
    op.create_table(
        "copy_bands",
        sa.Column("key", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("member", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["member"], ["articles.member"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("key", "member"),
    )
    op.create_index(op.f("ix_copy_bands_member"), "copy_bands", ["member"], unique=False)
    op.create_table(
        "headline_terms",
        sa.Column("kind", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("term", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("member", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["member"], ["articles.member"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("kind", "term", "member"),
    )
    op.create_index(op.f("ix_headline_terms_member"), "headline_terms", ["member"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_headline_terms_member"), table_name="headline_terms")
    op.drop_table("headline_terms")
    op.drop_index(op.f("ix_copy_bands_member"), table_name="copy_bands")
    op.drop_table("copy_bands")
    op.drop_index(op.f("ix_changes_at"), table_name="changes")
    op.drop_table("changes")
