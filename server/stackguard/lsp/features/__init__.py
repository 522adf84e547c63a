"""Feature modules of the language server (one ``Feature`` subclass each)."""
