"""Placeholder replaced by the detection implementation."""
MANIFEST_GLOBS: tuple[str, ...] = ()
def detect_root(root, workspace_folder=None): raise NotImplementedError
def detect_workspace(folder): raise NotImplementedError
def is_manifest(path): return False
