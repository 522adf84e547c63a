"""End-to-end fixtures: the real server process over stdio, driven by
pytest-lsp with the capabilities of real editors.

``lsp`` is parametrised over the "visual-studio-code" (push diagnostics,
dynamic file watchers) and "neovim" (pull diagnostics, no dynamic watchers)
capability snapshots. Tests start the session themselves with
``await lsp.initialize([folder, ...], init_options)`` so each can choose its
workspace folders and initializationOptions; teardown shuts it down.
Waiting is always "poll a condition until a deadline", never a fixed sleep.
"""

from __future__ import annotations

import sys

import pytest
import pytest_lsp
from lsp_session import CLIENTS, Session, make_client, vscode_with_pull_diagnostics
from pytest_lsp import ClientServerConfig, LanguageClient


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=[sys.executable, "-m", "stackguard", "serve"], client_factory=make_client
    ),
    params=CLIENTS,
)
async def server_client(request, client: LanguageClient):
    client.stackguard_session = Session(client, request.param)  # type: ignore[attr-defined]
    yield
    if client.capabilities is not None:
        await client.shutdown_session()


@pytest.fixture
def lsp(server_client: LanguageClient) -> Session:
    return server_client.stackguard_session  # type: ignore[attr-defined]


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=[sys.executable, "-m", "stackguard", "serve"], client_factory=make_client
    ),
)
async def pull_vscode_client(client: LanguageClient):
    client.stackguard_session = Session(  # type: ignore[attr-defined]
        client, "visual-studio-code+pull", vscode_with_pull_diagnostics()
    )
    yield
    if client.capabilities is not None:
        await client.shutdown_session()


@pytest.fixture
def lsp_pull_dynamic(pull_vscode_client: LanguageClient) -> Session:
    """A client that registers pull diagnostics dynamically and supports refresh."""
    return pull_vscode_client.stackguard_session  # type: ignore[attr-defined]
