"""products"""
import sqlalchemy as sa
from alembic import op

revision = "a1b2c3"
down_revision = None


def upgrade() -> None:
    op.create_table("products", sa.Column("id", sa.Integer(), primary_key=True), sa.Column("name", sa.Text()))


def downgrade() -> None:
    op.drop_table("products")
