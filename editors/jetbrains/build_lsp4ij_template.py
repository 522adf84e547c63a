"""Build the LSP4IJ user-defined language server template as a zip.

    python editors/jetbrains/build_lsp4ij_template.py [OUTPUT.zip]

The zip holds one folder, ``stackguard/``, with the template files LSP4IJ
reads (template.json, settings.json, settings.schema.json,
initializationOptions.json, README.md). Unzip it and pick that folder in
LSP4IJ's *New Language Server* dialog → Template → *Import from custom
template…*; the same layout is what LSP4IJ's own export produces.
"""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

TEMPLATE_DIR = Path(__file__).resolve().parent / "lsp4ij" / "stackguard"
TEMPLATE_FILES = (
    "template.json",
    "settings.json",
    "settings.schema.json",
    "initializationOptions.json",
    "README.md",
)
DEFAULT_OUTPUT = Path("dist") / "stackguard-lsp4ij-template.zip"


def build(output: Path, template_dir: Path = TEMPLATE_DIR) -> Path:
    """Write the zip and return its path; a template file that is missing or
    is not valid JSON stops the build with ValueError."""
    for name in TEMPLATE_FILES:
        path = template_dir / name
        if not path.is_file():
            raise ValueError(f"{path} is missing")
        if name.endswith(".json"):
            try:
                json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path} is not valid JSON: {exc}") from None
    output.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in TEMPLATE_FILES:
            archive.write(template_dir / name, f"{template_dir.name}/{name}")
    return output


def main(argv: list[str]) -> int:
    output = Path(argv[0]) if argv else DEFAULT_OUTPUT
    try:
        written = build(output)
    except ValueError as exc:
        print(f"build_lsp4ij_template: {exc}", file=sys.stderr)
        return 1
    print(written)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
