"""A learner's own run and the console's rate counter: own_runs, command_rate.

They lived in a SQLite file of their own, beside progress, even when progress was on PostgreSQL:
two app processes on two hosts then kept two different runs and two rate counts for one learner.
Now they are progress tables like the others. A SQLite file the console already wrote has both
(same columns, made with CREATE TABLE IF NOT EXISTS): "if not exists" adopts them with their rows.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "own_runs",
        sa.Column("learner", sa.Text, primary_key=True),
        sa.Column("lesson", sa.Text, primary_key=True),
        sa.Column("walkthrough", sa.Text, primary_key=True),
        sa.Column("log", sa.Text, nullable=False),
        sa.Column("updated", sa.Float, nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "command_rate",
        sa.Column("learner", sa.Text, primary_key=True),
        sa.Column("minute", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("count", sa.Integer, nullable=False),
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_table("command_rate")
    op.drop_table("own_runs")
