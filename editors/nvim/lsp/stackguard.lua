---@brief
---
--- stackguard: guardrails for backend code (layering, safe data access,
--- secrets, typed signatures), with fixes, refactors and the project's own
--- verification. Neovim >= 0.11.
---
--- Install the server into the project's environment or with pipx:
--- ```sh
--- pipx install stackguard     # or: pip install stackguard
--- ```
--- Then, with this file on 'runtimepath' (copy it to ~/.config/nvim/lsp/):
--- ```lua
--- vim.lsp.config('stackguard', { settings = { stackguard = { ignore = { 'SG501' } } } })
--- vim.lsp.enable('stackguard')
--- ```
---
--- Buffer-local commands (each calls one server command):
--- `:LspStackguardVerify [step ...]`, `:LspStackguardShowStack`,
--- `:[range]LspStackguardExtractToService`,
--- `:[range]LspStackguardAddRepositoryMethod [description]`,
--- `:LspStackguardGenerateMigration [message]`, `:LspStackguardDebugInfo`.
--- Quick fixes and "fix all" are code actions (`vim.lsp.buf.code_action()`).

-- Latest `stackguard/stack` payload per client id and folder URI: the steps
-- offered by :LspStackguardVerify completion come from it.
local stacks = {}

local VERIFY_BUFFER = 'stackguard://verify'

local function fs_stat(path)
  return (vim.uv or vim.loop).fs_stat(path)
end

--- Root marker for a project configured by `stack/stack.yaml`: markers are
--- base names, so the `stack` folder is matched and its content checked.
local function has_stack_yaml(name, path)
  if name ~= 'stack' then
    return false
  end
  local stack_dir = path:match('[/\\]stack$') and path or (path .. '/stack')
  return fs_stat(stack_dir .. '/stack.yaml') ~= nil
end

local function folder_uri(client, bufnr)
  local folders = client.workspace_folders or {}
  if #folders > 0 then
    local name = vim.api.nvim_buf_get_name(bufnr)
    for _, folder in ipairs(folders) do
      local path = vim.uri_to_fname(folder.uri)
      if name:sub(1, #path + 1) == path .. '/' then
        return folder.uri
      end
    end
    return folders[1].uri
  end
  if client.root_dir then
    return vim.uri_from_fname(client.root_dir)
  end
  return nil
end

--- The line range of a `range = true` user command as an LSP range (whole lines).
local function line_range(opts)
  return {
    start = { line = opts.line1 - 1, character = 0 },
    ['end'] = { line = opts.line2, character = 0 },
  }
end

local function exec(client, bufnr, command, argument, on_result)
  -- Every stackguard command takes one JSON object; an empty Lua table would
  -- be sent as [] instead.
  if next(argument) == nil then
    argument = vim.empty_dict()
  end
  client:exec_cmd({ title = command, command = command, arguments = { argument } }, { bufnr = bufnr }, function(err, result)
    if err then
      vim.notify(('stackguard: %s failed: %s'):format(command, err.message or tostring(err)), vim.log.levels.ERROR)
      return
    end
    if on_result then
      on_result(result)
    end
  end)
end

local function verify_buffer()
  local bufnr = vim.fn.bufnr(VERIFY_BUFFER)
  if bufnr == -1 then
    bufnr = vim.api.nvim_create_buf(false, true)
    vim.api.nvim_buf_set_name(bufnr, VERIFY_BUFFER)
    vim.bo[bufnr].bufhidden = 'hide'
  end
  return bufnr
end

local function append_verify_line(text)
  local bufnr = verify_buffer()
  local last = vim.api.nvim_buf_line_count(bufnr)
  local first_empty = last == 1 and vim.api.nvim_buf_get_lines(bufnr, 0, 1, false)[1] == ''
  vim.api.nvim_buf_set_lines(bufnr, first_empty and 0 or last, -1, false, { text })
end

local function known_steps(client_id)
  local names, seen = {}, {}
  for _, payload in pairs(stacks[client_id] or {}) do
    for _, root in ipairs(payload.roots or {}) do
      for _, step in ipairs((root.profile or {}).verify or {}) do
        if not seen[step.name] then
          seen[step.name] = true
          table.insert(names, step.name)
        end
      end
    end
  end
  return names
end

---@type vim.lsp.Config
return {
  cmd = { 'stackguard', 'serve', '--stdio' },
  filetypes = { 'python', 'toml', 'yaml', 'requirements' },
  root_markers = {
    has_stack_yaml, -- stack/stack.yaml
    'pyproject.toml',
    'requirements.txt',
    'manage.py',
    'alembic.ini',
    'package.json',
    'go.mod',
    '.git',
  },
  -- Answers workspace/configuration (section "stackguard"). An empty
  -- settings table must stay a JSON object, hence empty_dict.
  settings = { stackguard = vim.empty_dict() },
  handlers = {
    ['stackguard/stack'] = function(_, payload, ctx)
      stacks[ctx.client_id] = stacks[ctx.client_id] or {}
      stacks[ctx.client_id][payload.folder] = payload
    end,
    ['stackguard/verifyOutput'] = function(_, output)
      append_verify_line(('[%s] %s'):format(output.step, output.line))
    end,
  },
  on_attach = function(client, bufnr)
    local function command(name, fn, opts)
      vim.api.nvim_buf_create_user_command(bufnr, name, fn, opts)
    end

    command('LspStackguardVerify', function(opts)
      local argument = { folder = folder_uri(client, bufnr) }
      if #opts.fargs > 0 then
        argument.steps = opts.fargs
      end
      append_verify_line(('-- verify %s'):format(table.concat(opts.fargs, ' ')))
      vim.cmd('sbuffer ' .. verify_buffer())
      exec(client, bufnr, 'stackguard.verify', argument, function(result)
        append_verify_line('-- ' .. vim.inspect(result, { newline = ' ', indent = '' }))
      end)
    end, {
      nargs = '*',
      desc = 'Run the project verification steps (all, or the named ones)',
      complete = function()
        return known_steps(client.id)
      end,
    })

    command('LspStackguardShowStack', function()
      -- The server shows the summary itself (window/showMessage).
      exec(client, bufnr, 'stackguard.showStack', { folder = folder_uri(client, bufnr) })
    end, { desc = 'Show the detected stack of this folder' })

    command('LspStackguardExtractToService', function(opts)
      exec(client, bufnr, 'stackguard.extractToService', { uri = vim.uri_from_bufnr(bufnr), range = line_range(opts) })
    end, { range = true, desc = 'Move the selected lines into a service function' })

    command('LspStackguardAddRepositoryMethod', function(opts)
      -- The server moves the selected query into the repository as a named
      -- method; the optional description guides the agent variant.
      if opts.range == 0 then
        vim.notify('LspStackguardAddRepositoryMethod: select the query to move into the repository', vim.log.levels.WARN)
        return
      end
      local argument = { uri = vim.uri_from_bufnr(bufnr), range = line_range(opts) }
      local function send(description)
        if description == nil then
          return
        end
        if description ~= '' then
          argument.description = description
        end
        exec(client, bufnr, 'stackguard.addRepositoryMethod', argument)
      end
      if opts.args ~= '' then
        send(opts.args)
      else
        vim.ui.input({ prompt = 'Describe the method (optional): ' }, send)
      end
    end, { nargs = '*', range = true, desc = 'Move the selected query into a repository method' })

    command('LspStackguardGenerateMigration', function(opts)
      local function send(message)
        if message == nil then
          return
        end
        local argument = { folder = folder_uri(client, bufnr) }
        if message ~= '' then
          argument.message = message
        end
        exec(client, bufnr, 'stackguard.generateMigration', argument)
      end
      if opts.args ~= '' then
        send(opts.args)
      else
        vim.ui.input({ prompt = 'Migration message: ' }, send)
      end
    end, { nargs = '*', desc = 'Generate a migration for the model changes' })

    command('LspStackguardDebugInfo', function()
      exec(client, bufnr, 'stackguard.debugInfo', {}, function(result)
        local lines = vim.split(vim.inspect(result), '\n')
        local scratch = vim.api.nvim_create_buf(false, true)
        vim.api.nvim_buf_set_lines(scratch, 0, -1, false, lines)
        vim.cmd('sbuffer ' .. scratch)
      end)
    end, { desc = 'Show server version, settings and detected stacks' })
  end,
}
