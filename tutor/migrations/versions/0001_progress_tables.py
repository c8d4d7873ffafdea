"""The progress tables as the site kept them before Alembic: steps, hints, answers.

A SQLite file written by an older tutor already has them (created with CREATE TABLE IF NOT EXISTS
and no alembic_version): every statement here is "if not exists", so upgrading such a file adopts
its tables and rows as they are, and a new database gets the same schema.

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "steps",
        sa.Column("learner", sa.Text, primary_key=True),
        sa.Column("lesson", sa.Text, primary_key=True),
        sa.Column("walkthrough", sa.Text, primary_key=True),
        sa.Column("current", sa.Integer, nullable=False),
        sa.Column("furthest", sa.Integer, nullable=False),
        sa.Column("updated", sa.Float, nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "hints",
        sa.Column("learner", sa.Text, primary_key=True),
        sa.Column("lesson", sa.Text, primary_key=True),
        sa.Column("quiz", sa.Text, primary_key=True),
        sa.Column("question", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", sa.Float, nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "answers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("learner", sa.Text, nullable=False),
        sa.Column("lesson", sa.Text, nullable=False),
        sa.Column("quiz", sa.Text, nullable=False),
        sa.Column("question", sa.Integer, nullable=False),
        sa.Column("choices", sa.Text, nullable=False),
        sa.Column("correct", sa.Boolean, nullable=False),
        sa.Column("hinted", sa.Boolean, nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sqlite_autoincrement=True,
        if_not_exists=True,
    )
    op.create_index("answers_by_learner", "answers", ["learner", "lesson"], if_not_exists=True)
    op.create_index("answers_by_lesson", "answers", ["lesson"], if_not_exists=True)


def downgrade() -> None:
    op.drop_table("answers")
    op.drop_table("hints")
    op.drop_table("steps")
