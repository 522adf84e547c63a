---@brief
---
--- https://github.com/stackguard/stackguard
---
--- stackguard: a language server for backend code. It detects each project's
--- stack (framework, ORM, migrations, test runner) and flags guardrail
--- problems as you type: database access in route handlers, SQL built from
--- strings, commits in repositories, HTTP errors raised from services,
--- hardcoded secrets, blocking calls in async code. Quick fixes and "fix
--- all" are code actions.
---
--- Install with `pipx install stackguard` (or `pip install stackguard` into
--- the project's virtual environment).
---
--- Settings go under `settings.stackguard` (`select`, `ignore`, `severity`,
--- `exclude`, `layers`, `diagnostics.*`, `agent.*`, `verify.*`); they win
--- over the project's `[tool.stackguard]` and `stack/stack.yaml`.
---
--- Commands: `:LspStackguardVerify [step ...]`, `:LspStackguardShowStack`,
--- `:[range]LspStackguardExtractToService`,
--- `:[range]LspStackguardAddRepositoryMethod [description]`,
--- `:LspStackguardGenerateMigration [message]`.

local function folder_uri(client, bufnr)
  local name = vim.api.nvim_buf_get_name(bufnr)
  for _, folder in ipairs(client.workspace_folders or {}) do
    local path = vim.uri_to_fname(folder.uri)
    if name:sub(1, #path + 1) == path .. '/' then
      return folder.uri
    end
  end
  return client.root_dir and vim.uri_from_fname(client.root_dir) or nil
end

local function line_range(opts)
  return { start = { line = opts.line1 - 1, character = 0 }, ['end'] = { line = opts.line2, character = 0 } }
end

---@param client vim.lsp.Client
local function exec(client, bufnr, command, argument)
  client:exec_cmd({
    title = command,
    command = command,
    -- One JSON object per command; {} alone would be encoded as [].
    arguments = { next(argument) == nil and vim.empty_dict() or argument },
  }, { bufnr = bufnr })
end

---@type vim.lsp.Config
return {
  cmd = { 'stackguard', 'serve', '--stdio' },
  filetypes = { 'python' },
  root_markers = { 'pyproject.toml', 'requirements.txt', 'manage.py', 'alembic.ini', 'package.json', 'go.mod', '.git' },
  settings = { stackguard = vim.empty_dict() },
  on_attach = function(client, bufnr)
    vim.api.nvim_buf_create_user_command(bufnr, 'LspStackguardVerify', function(opts)
      local argument = { folder = folder_uri(client, bufnr) }
      if #opts.fargs > 0 then
        argument.steps = opts.fargs
      end
      exec(client, bufnr, 'stackguard.verify', argument)
    end, { nargs = '*', desc = 'Run the project verification steps (all, or the named ones)' })

    vim.api.nvim_buf_create_user_command(bufnr, 'LspStackguardShowStack', function()
      exec(client, bufnr, 'stackguard.showStack', { folder = folder_uri(client, bufnr) })
    end, { desc = 'Show the detected stack of this folder' })

    vim.api.nvim_buf_create_user_command(bufnr, 'LspStackguardExtractToService', function(opts)
      exec(client, bufnr, 'stackguard.extractToService', { uri = vim.uri_from_bufnr(bufnr), range = line_range(opts) })
    end, { range = true, desc = 'Move the selected lines into a service function' })

    vim.api.nvim_buf_create_user_command(bufnr, 'LspStackguardAddRepositoryMethod', function(opts)
      if opts.range == 0 then
        return vim.notify('LspStackguardAddRepositoryMethod: select the query to move into the repository', vim.log.levels.WARN)
      end
      local argument = { uri = vim.uri_from_bufnr(bufnr), range = line_range(opts) }
      if opts.args ~= '' then
        argument.description = opts.args
      end
      exec(client, bufnr, 'stackguard.addRepositoryMethod', argument)
    end, { nargs = '*', range = true, desc = 'Move the selected query into a repository method' })

    vim.api.nvim_buf_create_user_command(bufnr, 'LspStackguardGenerateMigration', function(opts)
      local function send(message)
        if message ~= nil then
          local argument = { folder = folder_uri(client, bufnr) }
          if message ~= '' then
            argument.message = message
          end
          exec(client, bufnr, 'stackguard.generateMigration', argument)
        end
      end
      if opts.args ~= '' then
        send(opts.args)
      else
        vim.ui.input({ prompt = 'Migration message: ' }, send)
      end
    end, { nargs = '*', desc = 'Generate a migration for the model changes' })
  end,
}
