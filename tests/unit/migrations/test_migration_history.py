"""Reading Alembic and Django histories statically."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

from migration_apps import WORKSPACES
from stackguard.migrations.history import (
    AlembicHistory,
    AlembicRevision,
    DjangoMigration,
    django_state,
    load_alembic_history,
    migration_facts,
    parse_alembic_revision,
    parse_django_migration,
)
from stackguard.migrations.schema import SqlType


def revision(text: str, relative: str = "versions/x.py") -> AlembicRevision:
    parsed = parse_alembic_revision(ast.parse(textwrap.dedent(text)), relative)
    assert parsed is not None
    return parsed


def chain(*texts: str) -> AlembicHistory:
    return AlembicHistory.from_revisions([revision(t, f"versions/{i:02d}.py") for i, t in enumerate(texts)])


BASE = '''
    from alembic import op
    import sqlalchemy as sa
    revision = "r1"
    down_revision = None

    def upgrade():
        op.create_table(
            "users",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("email", sa.String(length=255), nullable=False),
            sa.Column("team_id", sa.Integer(), sa.ForeignKey("teams.id"), nullable=True),
            sa.Column("bio", sa.Text()),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("email", name="uq_users_email"),
        )
        op.create_index(op.f("ix_users_team_id"), "users", ["team_id"], unique=False)

    def downgrade():
        op.drop_index(op.f("ix_users_team_id"), table_name="users")
        op.drop_table("users")
'''


def test_revision_ids_columns_constraints_and_indexes():
    parsed = revision(BASE)
    assert (parsed.revision, parsed.down_revisions, parsed.downgrade) == ("r1", (), "ops")
    users = chain(BASE).schema().tables["users"]
    assert list(users.columns) == ["id", "email", "team_id", "bio"]
    assert users.columns["email"].type == SqlType("String", (("length", "255"),))
    assert users.columns["email"].nullable is False
    assert users.columns["bio"].nullable is True  # sa.Column's default
    assert users.columns["team_id"].foreign_key == "teams.id"
    assert users.primary_key == ("id",)
    assert users.is_unique("email") and not users.is_unique("bio")
    assert users.has_index_on(("team_id",)).name == "ix_users_team_id"


def test_annotated_assignments_and_batch_blocks():
    second = '''
        from typing import Sequence, Union
        from alembic import op
        import sqlalchemy as sa
        revision: str = "r2"
        down_revision: Union[str, Sequence[str], None] = "r1"

        def upgrade() -> None:
            with op.batch_alter_table("users", schema=None) as batch_op:
                batch_op.add_column(sa.Column("age", sa.SmallInteger(), server_default="0", nullable=False))
                batch_op.alter_column("bio", existing_type=sa.Text(), type_=sa.String(length=500), nullable=False)
                batch_op.alter_column("email", new_column_name="email_address")
                batch_op.drop_index(batch_op.f("ix_users_team_id"))
                batch_op.drop_column("team_id")
                batch_op.create_index(batch_op.f("ix_users_age"), ["age"], unique=False)
                op.execute("UPDATE users SET age = 0")

        def downgrade() -> None:
            pass
    '''
    history = chain(BASE, second)
    assert history.heads() == ["r2"] and history.bases() == ["r1"]
    users = history.schema().tables["users"]
    assert list(users.columns) == ["id", "bio", "age", "email_address"]
    assert users.columns["age"].server_default == "'0'"
    assert users.columns["bio"].type == SqlType("String", (("length", "500"),)) and users.columns["bio"].nullable is False
    assert [i.name for i in users.indexes] == ["ix_users_age"]
    assert users.is_unique("email_address")  # the unique constraint follows the rename
    assert revision(second).downgrade == "empty"


def test_branches_merge_and_heads():
    branch_a = 'from alembic import op\nimport sqlalchemy as sa\nrevision = "a"\ndown_revision = "r1"\ndef upgrade():\n    op.add_column("users", sa.Column("a", sa.Integer()))\n'
    branch_b = 'from alembic import op\nimport sqlalchemy as sa\nrevision = "b"\ndown_revision = "r1"\ndef upgrade():\n    op.add_column("users", sa.Column("b", sa.Integer()))\n'
    history = chain(BASE, branch_a, branch_b)
    assert history.heads() == ["a", "b"]
    merged = chain(BASE, branch_a, branch_b, 'revision = "m"\ndown_revision = ("a", "b")\ndef upgrade():\n    pass\n')
    assert merged.heads() == ["m"]
    assert [r.revision for r in merged.order()] == ["r1", "a", "b", "m"]
    assert {"a", "b"} <= set(merged.schema().tables["users"].columns)


def test_unknown_parents_cycles_and_duplicates_are_problems():
    orphan = chain('revision = "x"\ndown_revision = "gone"\ndef upgrade():\n    pass\n')
    assert "down_revision 'gone' is not a known revision" in orphan.problems[0]
    cycle = chain('revision = "p"\ndown_revision = "q"\n', 'revision = "q"\ndown_revision = "p"\n')
    assert cycle.schema().opaque
    assert any("cycle" in p for p in cycle.problems)
    twice = AlembicHistory.from_revisions([revision(BASE, "a.py"), revision(BASE, "b.py")])
    assert "appears in both a.py and b.py" in twice.problems[0]


def test_raw_ddl_marks_tables_opaque_and_unfollowable_ops_the_whole_history():
    raw = '''
        from alembic import op
        revision = "r2"
        down_revision = "r1"
        def upgrade():
            op.execute("CREATE TABLE audit (id INTEGER PRIMARY KEY)")
            op.execute(sa.text("ALTER TABLE users ADD COLUMN note TEXT"))
            op.execute("UPDATE users SET bio = ''")
    '''
    schema = chain(BASE, raw).schema()
    assert schema.opaque_tables == {"audit", "users"} and not schema.opaque
    loop = '''
        from alembic import op
        import sqlalchemy as sa
        revision = "r2"
        down_revision = "r1"
        def upgrade():
            for name in ("a", "b"):
                op.add_column("users", sa.Column(name, sa.Integer()))
    '''
    assert chain(BASE, loop).schema().opaque
    spread = 'from alembic import op\nrevision = "r2"\ndown_revision = "r1"\ndef upgrade():\n    op.create_table("tags", *TAG_COLUMNS)\n'
    assert "tags" in chain(BASE, spread).schema().opaque_tables
    helper = 'from alembic import op\nrevision = "r2"\ndown_revision = "r1"\ndef _tags():\n    op.create_table("tags")\ndef upgrade():\n    _tags()\n'
    assert chain(BASE, helper).schema().opaque


def test_downgrade_kinds():
    assert revision('revision = "a"\ndown_revision = None\ndef upgrade():\n    pass\n').downgrade == "missing"
    docstring_only = revision('revision = "a"\ndown_revision = None\ndef downgrade():\n    """No."""\n    ...\n')
    assert docstring_only.downgrade == "empty"
    raising = revision('revision = "a"\ndown_revision = None\ndef downgrade():\n    raise NotImplementedError\n')
    assert raising.downgrade == "ops"


def test_fixture_app_history_from_disk():
    app = WORKSPACES / "app_fastapi_sqlalchemy"
    history = load_alembic_history(app / "alembic/versions", app)
    assert history.heads() == ["8c41e07a5d22"] and not history.problems
    assert history.folder == "alembic/versions"
    books = history.schema().tables["books"]
    assert list(books.columns) == ["id", "title", "owner_id", "summary", "pages"]
    assert books.foreign_keys[0].ref_table == "users"


def test_migration_facts_recognises_only_migrations():
    app = WORKSPACES / "app_fastapi_sqlalchemy"
    text = (app / "alembic/versions/20240412_8c41e07a5d22_add_book_summary_and_pages.py").read_text()
    assert isinstance(migration_facts("alembic/versions/x.py", ast.parse(text)), AlembicRevision)
    assert migration_facts("app/models.py", ast.parse((app / "app/models.py").read_text())) is None
    django = WORKSPACES / "app_django_drf/catalog/migrations/0001_initial.py"
    facts = migration_facts("catalog/migrations/0001_initial.py", ast.parse(django.read_text()))
    assert isinstance(facts, DjangoMigration) and facts.key == ("catalog", "0001_initial") and facts.initial
    # A class named Migration outside a migrations package is not one.
    assert migration_facts("app/jobs.py", ast.parse("class Migration(Base):\n    pass\n")) is None


def django(relative: str, text: str) -> DjangoMigration:
    parsed = parse_django_migration(ast.parse(textwrap.dedent(text)), relative)
    assert parsed is not None
    return parsed


def test_django_state_follows_dependencies_across_apps():
    accounts = django(
        "accounts/migrations/0001_initial.py",
        """
        from django.db import migrations, models
        class Migration(migrations.Migration):
            initial = True
            dependencies = [migrations.swappable_dependency(settings.AUTH_USER_MODEL)]
            operations = [
                migrations.CreateModel("Profile", [("id", models.BigAutoField(primary_key=True)), ("nick", models.CharField(max_length=20))]),
            ]
        """,
    )
    shop_1 = django(
        "shop/migrations/0001_initial.py",
        """
        from django.db import migrations, models
        class Migration(migrations.Migration):
            dependencies = [("accounts", "0001_initial")]
            operations = [
                migrations.CreateModel(
                    name="Order",
                    fields=[
                        ("id", models.BigAutoField(primary_key=True)),
                        ("note", models.TextField(null=True)),
                        ("owner", models.ForeignKey(on_delete=models.CASCADE, to="accounts.profile")),
                    ],
                    options={"db_table": "orders"},
                ),
                migrations.CreateModel(name="Old", fields=[("id", models.AutoField(primary_key=True))]),
            ]
        """,
    )
    shop_2 = django(
        "shop/migrations/0002_changes.py",
        """
        from django.db import migrations, models
        class Migration(migrations.Migration):
            dependencies = [("shop", "0001_initial")]
            operations = [
                migrations.AddField("order", "total", models.DecimalField(max_digits=9, decimal_places=2)),
                migrations.AlterField(model_name="order", name="note", field=models.CharField(max_length=200, unique=True)),
                migrations.RenameField("order", "owner", "customer"),
                migrations.DeleteModel("Old"),
                migrations.RunPython(forwards),
                migrations.RunSQL("SELECT 1", reverse_sql=migrations.RunSQL.noop),
                migrations.SeparateDatabaseAndState(
                    state_operations=[migrations.RemoveField("order", "total")],
                ),
            ]
        """,
    )
    # Order does not matter: dependencies do.
    state = django_state([shop_2, shop_1, accounts])
    assert set(state.models) == {("accounts", "profile"), ("shop", "order")}
    order = state.models[("shop", "order")]
    assert order.db_table == "orders"
    assert list(order.fields) == ["id", "note", "customer"]
    assert order.fields["note"].cls == "CharField" and order.fields["note"].unique
    assert order.fields["customer"].to == "accounts.profile"
    run_python, run_sql = shop_2.operations[4], shop_2.operations[5]
    assert (run_python.kind, run_python.reversible) == ("RunPython", False)
    assert (run_sql.kind, run_sql.reversible) == ("RunSQL", True)
    assert shop_1.dependencies == (("accounts", "0001_initial"),)


def test_django_squashed_migrations_and_unknown_operations():
    first = django("a/migrations/0001_initial.py", 'class Migration(migrations.Migration):\n    operations = [migrations.CreateModel("T", [("id", models.AutoField(primary_key=True))])]\n')
    second = django(
        "a/migrations/0002_x.py",
        'class Migration(migrations.Migration):\n    dependencies = [("a", "0001_initial")]\n    operations = [migrations.AddField("t", "x", models.IntegerField())]\n',
    )
    squashed = django(
        "a/migrations/0001_squashed_0002_x.py",
        'class Migration(migrations.Migration):\n    replaces = [("a", "0001_initial"), ("a", "0002_x")]\n'
        '    operations = [migrations.CreateModel("T", [("id", models.AutoField(primary_key=True)), ("x", models.IntegerField())])]\n',
    )
    assert list(django_state([first, second, squashed]).models[("a", "t")].fields) == ["id", "x"]
    assert list(django_state([squashed]).models[("a", "t")].fields) == ["id", "x"]
    custom = django("a/migrations/0003_custom.py", 'class Migration(migrations.Migration):\n    dependencies = [("a", "0002_x")]\n    operations = [MyOperation()]\n')
    assert "a" in django_state([first, second, custom]).opaque_apps


def test_load_history_skips_unreadable_files(tmp_path: Path):
    versions = tmp_path / "versions"
    versions.mkdir()
    (versions / "broken.py").write_text("revision = (\n", encoding="utf-8")
    (versions / "ok.py").write_text('revision = "a"\ndown_revision = None\n', encoding="utf-8")
    (versions / "helper.py").write_text("VALUE = 1\n", encoding="utf-8")
    history = load_alembic_history(versions, tmp_path)
    assert list(history.revisions) == ["a"]
    assert history.problems and "broken.py" in history.problems[0]
