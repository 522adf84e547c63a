"""stackguard: a language server that keeps backend code on its guardrails."""

__version__ = "0.1.0"
