"""The LLM agent behind the "(agent)" actions: the Anthropic client
(``client``, the only module importing ``anthropic``), the system prompt from
``skills/`` (``skills``), the sandboxed tools (``tools``), proposal parsing
and validation (``proposal``), the tool loop (``loop``) and the actions
themselves (``actions``). Nothing here imports pygls or lsprotocol and nothing
here writes files: results are plain dataclasses for ``lsp/`` to present."""
