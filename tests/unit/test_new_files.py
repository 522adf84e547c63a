"""``lsp.new_files``: new files the server writes for editors that cannot
create them through LSP. All or none, never over an existing file."""

from __future__ import annotations

from pathlib import Path

from stackguard.lsp.new_files import create_files, remove_files


def test_writes_every_file_and_its_folders(tmp_path: Path) -> None:
    first, second = tmp_path / "app/services/email.py", tmp_path / "app/errors.py"
    created, problem = create_files([(str(first), "A = 1\n"), (str(second), "")])
    assert problem is None and created == [str(first), str(second)]
    assert first.read_text() == "A = 1\n" and second.read_text() == ""
    remove_files(created)
    assert not first.exists() and not second.exists()


def test_an_existing_file_is_never_overwritten_and_nothing_stays(tmp_path: Path) -> None:
    existing = tmp_path / "app/errors.py"
    existing.parent.mkdir(parents=True)
    existing.write_text("KEEP = 1\n")
    new = tmp_path / "app/services/email.py"
    created, problem = create_files([(str(new), "A = 1\n"), (str(existing), "B = 2\n")])
    assert created == [] and problem == f"{existing} already exists"
    assert existing.read_text() == "KEEP = 1\n"
    assert not new.exists(), "the first file stayed although the second could not be written"


def test_a_dangling_symlink_counts_as_existing(tmp_path: Path) -> None:
    link = tmp_path / "app.py"
    link.symlink_to(tmp_path / "elsewhere.py")
    created, problem = create_files([(str(link), "x = 1\n")])
    assert created == [] and problem is not None
    assert not (tmp_path / "elsewhere.py").exists()


def test_a_folder_that_cannot_be_made_is_reported(tmp_path: Path) -> None:
    (tmp_path / "app").write_text("a file where a folder should be\n")
    created, problem = create_files([(str(tmp_path / "app/services.py"), "x = 1\n")])
    assert created == [] and problem is not None and problem.startswith("cannot create")
