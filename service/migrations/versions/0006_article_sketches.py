"""article sketches: a page's sketch, shingle set and minhash move to a table of their own,
so that an update of an article's small values (evidence, placement) no longer rewrites
2.8 KB of them with each row (on SQLite an update rewrites the whole row)

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

MOVED = ("sketch", "shingles", "minhash")  # the largest first: each drop rewrites the table


def upgrade() -> None:
    op.create_table(
        "article_sketches",
        sa.Column("member", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("sketch", sa.LargeBinary(), nullable=True),
        sa.Column("shingles", sa.LargeBinary(), nullable=False),
        sa.Column("minhash", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["member"], ["articles.member"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("member"),
    )
    listed = ", ".join(MOVED)
    op.execute(
        f"INSERT INTO article_sketches (member, {listed}) SELECT member, {listed} FROM articles"
    )
    # plain DROP COLUMN, not a batch (copy and rename) table: see 0005
    for column in MOVED:
        op.drop_column("articles", column)


def downgrade() -> None:
    op.add_column("articles", sa.Column("sketch", sa.LargeBinary(), nullable=True))
    for column in ("shingles", "minhash"):
        op.add_column(
            "articles",
            sa.Column(column, sa.LargeBinary(), nullable=False, server_default=sa.text("''")),
        )
    for column in MOVED:
        op.execute(
            f"UPDATE articles SET {column} = (SELECT t.{column} FROM article_sketches t"
            " WHERE t.member = articles.member)"
            " WHERE member IN (SELECT member FROM article_sketches)"
        )
    op.drop_table("article_sketches")
