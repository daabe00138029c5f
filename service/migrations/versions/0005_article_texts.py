"""article texts: a page's input, clean text and flags move to a table of their own, so the
rows the nightly reindex reads and rewrites hold only what it reads (on SQLite an update
rewrites the whole row, kilobytes of page with it)

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

MOVED = ("raw", "clean_text", "raw_kind", "captions", "flags")  # the large first: each drop
# rewrites the table, and the later ones then rewrite small rows


def upgrade() -> None:
    op.create_table(
        "article_texts",
        sa.Column("member", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("raw_kind", sa.String(length=8), nullable=False),
        sa.Column("captions", sa.JSON(), nullable=False),
        sa.Column("clean_text", sa.Text(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["member"], ["articles.member"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("member"),
    )
    listed = ", ".join(MOVED)
    op.execute(
        f"INSERT INTO article_texts (member, {listed}) SELECT member, {listed} FROM articles"
    )
    # plain ALTER TABLE ... DROP COLUMN, not a batch (copy and rename) table: on SQLite,
    # dropping the old table would run the ON DELETE CASCADE of every table that refers
    # to its members (copy bands, headline terms, the texts just copied)
    for column in MOVED:
        op.drop_column("articles", column)


def downgrade() -> None:
    for column, kind in (
        ("raw", sa.Text()),
        ("raw_kind", sa.String(length=8)),
        ("captions", sa.JSON()),
        ("clean_text", sa.Text()),
        ("flags", sa.JSON()),
    ):
        empty = "[]" if isinstance(kind, sa.JSON) else ""
        op.add_column(
            "articles",
            sa.Column(column, kind, nullable=False, server_default=sa.text(f"'{empty}'")),
        )
    for column in MOVED:
        op.execute(
            f"UPDATE articles SET {column} = (SELECT t.{column} FROM article_texts t"
            " WHERE t.member = articles.member)"
            f" WHERE member IN (SELECT member FROM article_texts)"
        )
    op.drop_table("article_texts")
