"""SG301 quick fix: the literal becomes a read from the environment (or the
project's settings object), and ``NAME=`` is added to ``.env.example``.

Findings come from the real SG301 rule over a project written to tmp_path
(the fix reads the settings module and ``.env.example`` from disk)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from fixhelp import Project, applied
from stackguard.fixes import apply_text_edits
from stackguard.fixes.secrets_env import secrets_env_fix

SECRET = "k3y-f0r-s1gning-t0kens-2024"


def make(tmp_path: Path, files: dict[str, str]) -> Project:
    for relative, text in files.items():
        target = tmp_path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text), encoding="utf-8")
    return Project(tmp_path, files, ["SG301"])


def fix_once(tmp_path: Path, files: dict[str, str], relative: str, *, root: bool = True):
    project = make(tmp_path, files)
    finding = project.only(relative, "SG301")
    assert finding.fix_title is not None, finding
    fix = secrets_env_fix(finding, project.files[relative], project_root=str(tmp_path) if root else None)
    assert fix is not None
    assert fix.code == "SG301" and fix.safe is False
    new = applied(fix, finding.path, project.files[relative])
    assert [f for f in project.findings(relative, new) if f.code == "SG301"] == [], new
    for file_edit in fix.edits:
        assert all(SECRET not in edit.new_text for edit in file_edit.edits)
    assert SECRET not in fix.title
    return fix, new, project


# -- os.environ ----------------------------------------------------------------


def test_module_constant_becomes_os_environ_and_import_os_is_added(tmp_path):
    fix, new, _ = fix_once(
        tmp_path,
        {"app/settings.py": f'"""Settings."""\nDEBUG = False\nSECRET_KEY = "{SECRET}"\n'},
        "app/settings.py",
    )
    assert new == '"""Settings."""\nimport os\n\nDEBUG = False\nSECRET_KEY = os.environ["SECRET_KEY"]\n'
    assert fix.title == 'Read `SECRET_KEY` from the environment (os.environ["SECRET_KEY"])'


def test_aliased_os_module_is_reused(tmp_path):
    _, new, _ = fix_once(
        tmp_path,
        {"app/clients.py": f'import os as _os\n\nclient = Client(api_key="{SECRET}")\n'},
        "app/clients.py",
    )
    assert new == 'import os as _os\n\nclient = Client(api_key=_os.environ["API_KEY"])\n'


def test_from_os_import_environ_is_reused(tmp_path):
    _, new, _ = fix_once(
        tmp_path,
        {"app/settings.py": f'from os import environ\n\nDATABASES = {{"default": {{"PASSWORD": "{SECRET}"}}}}\n'},
        "app/settings.py",
    )
    assert new == 'from os import environ\n\nDATABASES = {"default": {"PASSWORD": environ["DATABASE_PASSWORD"]}}\n'


def test_attribute_target_names_the_variable(tmp_path):
    _, new, _ = fix_once(
        tmp_path,
        {"web/app.py": f'import os\nfrom flask import Flask\n\napp = Flask(__name__)\napp.config["SECRET_KEY"] = "{SECRET}"\n'},
        "web/app.py",
    )
    assert new.endswith('app.config["SECRET_KEY"] = os.environ["SECRET_KEY"]\n')


# -- env reads with a fallback ----------------------------------------------------


def test_env_get_fallback_becomes_a_required_read(tmp_path):
    fix, new, _ = fix_once(
        tmp_path,
        {"app/config.py": f'import os\n\nJWT_SECRET = os.environ.get("JWT_SECRET", "{SECRET}")\n'},
        "app/config.py",
    )
    assert new == 'import os\n\nJWT_SECRET = os.environ["JWT_SECRET"]\n'
    assert fix.title == "Require `JWT_SECRET` from the environment (no hardcoded fallback)"


def test_getenv_through_an_aliased_module(tmp_path):
    _, new, _ = fix_once(
        tmp_path,
        {"app/config.py": 'import os as o\n\nJWT_SECRET = o.getenv("JWT_SECRET", "x")\n'},
        "app/config.py",
    )
    assert new == 'import os as o\n\nJWT_SECRET = o.environ["JWT_SECRET"]\n'


def test_getenv_imported_alone_gets_import_os(tmp_path):
    _, new, _ = fix_once(
        tmp_path,
        {"app/config.py": f'from os import getenv\n\nAPI_TOKEN = getenv("API_TOKEN", "{SECRET}")\n'},
        "app/config.py",
    )
    assert new == 'from os import getenv\nimport os\n\nAPI_TOKEN = os.environ["API_TOKEN"]\n'


def test_django_environ_default_is_dropped_and_cast_kept(tmp_path):
    _, new, _ = fix_once(
        tmp_path,
        {"shop/settings.py": f'import environ\n\nenv = environ.Env()\nSECRET_KEY = env("SECRET_KEY", cast=str, default="{SECRET}")\n'},
        "shop/settings.py",
    )
    assert new.endswith('SECRET_KEY = env("SECRET_KEY", cast=str)\n')


# -- pydantic-settings ------------------------------------------------------------

CONFIG = """\
from pydantic import SecretStr
from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    PROJECT_NAME: str = "shop"
    STRIPE_API_KEY: SecretStr


settings = Settings()
"""


def test_settings_field_loses_its_default(tmp_path):
    source = CONFIG.replace('    STRIPE_API_KEY: SecretStr\n', f'    STRIPE_API_KEY: SecretStr = SecretStr("{SECRET}")\n')
    fix, new, _ = fix_once(tmp_path, {"app/core/config.py": source}, "app/core/config.py")
    assert new == CONFIG
    assert fix.title == "Declare `STRIPE_API_KEY` without a default so it is read from the environment"


def test_literal_elsewhere_reads_the_existing_settings_field(tmp_path):
    fix, new, _ = fix_once(
        tmp_path,
        {
            "app/core/config.py": CONFIG,
            "app/services/payments.py": f'import stripe\n\nSTRIPE_API_KEY = "{SECRET}"\n',
        },
        "app/services/payments.py",
    )
    assert new == 'import stripe\nfrom app.core.config import settings\n\nSTRIPE_API_KEY = settings.STRIPE_API_KEY\n'
    assert fix.title == "Read `STRIPE_API_KEY` from the project settings (settings.STRIPE_API_KEY)"
    assert [e.path for e in fix.edits] == [str(tmp_path / "app/services/payments.py")]


def test_aliased_settings_import_is_reused(tmp_path):
    _, new, _ = fix_once(
        tmp_path,
        {
            "app/core/config.py": CONFIG,
            "app/services/payments.py": f'from app.core.config import settings as cfg\n\nclient = Stripe(api_key="{SECRET}")\n',
        },
        "app/services/payments.py",
    )
    assert new == 'from app.core.config import settings as cfg\n\nclient = Stripe(api_key=cfg.STRIPE_API_KEY)\n'


def test_missing_settings_field_is_added_to_the_class(tmp_path):
    fix, new, project = fix_once(
        tmp_path,
        {
            "app/core/config.py": CONFIG,
            "app/services/mail.py": f'MAILGUN_API_KEY = "{SECRET}"\n',
        },
        "app/services/mail.py",
    )
    assert new == 'from app.core.config import settings\n\nMAILGUN_API_KEY = settings.MAILGUN_API_KEY\n'
    config_path = str(tmp_path / "app/core/config.py")
    config_edits = fix.edits_for(config_path)
    assert config_edits, fix.edits
    updated = apply_text_edits(project.files["app/core/config.py"], config_edits)
    assert "    STRIPE_API_KEY: SecretStr\n    MAILGUN_API_KEY: str\n\n\nsettings = Settings()\n" in updated


# -- .env.example -----------------------------------------------------------------


def test_env_example_gets_the_name_without_the_value(tmp_path):
    (tmp_path / ".env.example").write_text("DATABASE_URL=\nDEBUG=false", encoding="utf-8")
    fix, _, _ = fix_once(tmp_path, {"app/settings.py": f'import os\n\nSECRET_KEY = "{SECRET}"\n'}, "app/settings.py")
    example = str(tmp_path / ".env.example")
    edits = fix.edits_for(example)
    updated = apply_text_edits((tmp_path / ".env.example").read_text(), edits)
    assert updated == "DATABASE_URL=\nDEBUG=false\nSECRET_KEY=\n"
    assert fix.title.endswith(" and add it to .env.example")


def test_env_example_that_already_lists_the_name_is_left_alone(tmp_path):
    (tmp_path / ".env.example").write_text("SECRET_KEY=changethis\n", encoding="utf-8")
    fix, _, _ = fix_once(tmp_path, {"app/settings.py": f'import os\n\nSECRET_KEY = "{SECRET}"\n'}, "app/settings.py")
    assert fix.in_file_only


# -- no fix ------------------------------------------------------------------------


def test_stale_finding_gives_no_fix(tmp_path):
    project = make(tmp_path, {"app/settings.py": f'SECRET_KEY = "{SECRET}"\n'})
    finding = project.only("app/settings.py", "SG301")
    assert secrets_env_fix(finding, 'SECRET_KEY = None\n', project_root=str(tmp_path)) is None
    assert secrets_env_fix(finding, "SECRET_KEY = (\n", project_root=str(tmp_path)) is None


def test_basic_auth_password_and_literal_urls_have_no_fix(tmp_path):
    project = make(
        tmp_path,
        {
            "app/clients.py": 'import requests\n\n\ndef fetch(url):\n    return requests.get(url, auth=("reports", "r3p0rts-pw-77"))\n\n\n'
            'engine = create_engine("postgresql://shop:Pg-s3cr3t-pw@db/shop")\n'
        },
    )
    findings = [f for f in project.findings("app/clients.py") if f.code == "SG301"]
    assert len(findings) == 2
    for finding in findings:
        assert finding.fix_title is None and not finding.fixable
        assert secrets_env_fix(finding, project.files["app/clients.py"], project_root=str(tmp_path)) is None


def test_environ_setdefault_has_no_fix(tmp_path):
    project = make(tmp_path, {"app/config.py": f'import os\n\nos.environ.setdefault("SECRET_KEY", "{SECRET}")\n'})
    finding = project.only("app/config.py", "SG301")
    assert secrets_env_fix(finding, project.files["app/config.py"], project_root=str(tmp_path)) is None


def test_settings_env_prefix_names_the_env_example_entry(tmp_path):
    (tmp_path / ".env.example").write_text("APP_DEBUG=\n", encoding="utf-8")
    config = CONFIG.replace(
        "class Settings(BaseSettings):\n",
        'class Settings(BaseSettings):\n    model_config = SettingsConfigDict(env_prefix="APP_")\n',
    ).replace("from pydantic_settings import BaseSettings", "from pydantic_settings import BaseSettings, SettingsConfigDict")
    fix, new, _ = fix_once(
        tmp_path,
        {"app/core/config.py": config, "app/services/mail.py": f'import mailgun\n\nclient = mailgun.Client(api_key="{SECRET}")\n'},
        "app/services/mail.py",
    )
    assert "client = mailgun.Client(api_key=settings.MAILGUN_API_KEY)" in new
    updated = apply_text_edits("APP_DEBUG=\n", fix.edits_for(str(tmp_path / ".env.example")))
    assert updated == "APP_DEBUG=\nAPP_MAILGUN_API_KEY=\n"


def test_settings_modules_read_the_environment_directly(tmp_path):
    _, new, _ = fix_once(
        tmp_path,
        {"app/core/config.py": CONFIG, "app/settings/local.py": f'import os\n\nSMTP_PASSWORD = "{SECRET}"\n'},
        "app/settings/local.py",
    )
    assert new == 'import os\n\nSMTP_PASSWORD = os.environ["SMTP_PASSWORD"]\n'
