-- Loads a Neovim >= 0.11 LSP config file (editors/nvim/lsp/stackguard.lua or
-- the nvim-lspconfig contribution) in whatever Neovim runs this (0.7.2 in
-- CI), with a fake client standing in for vim.lsp.Client, and reports as
-- JSON what the config declares and what each user command sends through
-- client:exec_cmd(). tests/editors/test_nvim_config.py asserts on it.
--
-- Input: SG_CONFIG (the file), SG_RUNTIME (editors/nvim, for
-- lua/stackguard.lua's root finder), SG_ROOT (a project with
-- stack/stack.yaml and app/repo.py), SG_OTHER (a folder without markers),
-- SG_RESULT (JSON output).

local report = { calls = {}, errors = {} }

local function env(name)
  return assert(os.getenv(name), 'missing ' .. name)
end

local function check()
  vim.opt.runtimepath:prepend(env('SG_RUNTIME'))
  local config = dofile(env('SG_CONFIG'))
  local root = env('SG_ROOT')

  report.cmd = config.cmd
  report.filetypes = config.filetypes
  report.settings_json = vim.json.encode(config.settings)
  report.init_options = config.init_options
  report.root_markers = {}
  local function_markers = {}
  for _, marker in ipairs(config.root_markers or {}) do
    if type(marker) == 'function' then
      table.insert(report.root_markers, '<function>')
      table.insert(function_markers, marker)
    else
      table.insert(report.root_markers, marker)
    end
  end
  -- vim.fs.root calls a function marker with each entry's name and the
  -- directory being searched.
  report.function_markers = {}
  for _, marker in ipairs(function_markers) do
    table.insert(report.function_markers, {
      stack_in_project = marker('stack', root),
      stack_in_other = marker('stack', env('SG_OTHER')),
      other_name = marker('app', root),
    })
  end
  local file = root .. '/app/repo.py'
  report.found_root = require('stackguard').find_root(file, config.root_markers or {})
  report.handlers = vim.tbl_keys(config.handlers or {})
  table.sort(report.handlers)

  -- A buffer on a file of the project, current, with the config attached.
  vim.cmd('edit ' .. vim.fn.fnameescape(file))
  local bufnr = vim.api.nvim_get_current_buf()
  local client = {
    id = 7,
    name = 'stackguard',
    root_dir = root,
    workspace_folders = { { uri = vim.uri_from_fname(root), name = 'project' } },
  }
  function client:exec_cmd(command, context, handler)
    assert(self == client, 'exec_cmd must be called as a method (client:exec_cmd)')
    table.insert(report.calls, {
      command = command.command,
      title = command.title,
      arguments_json = vim.json.encode(command.arguments),
      bufnr_matches = context and context.bufnr == bufnr,
    })
    if handler then
      handler(nil, { version = 'fake' }, { client_id = client.id, bufnr = bufnr })
    end
  end
  assert(config.on_attach, 'no on_attach')
  config.on_attach(client, bufnr)

  local commands = vim.api.nvim_buf_get_commands(bufnr, {})
  report.commands = {}
  for name, definition in pairs(commands) do
    report.commands[name] = { nargs = definition.nargs, range = definition.range }
  end

  if config.handlers and config.handlers['stackguard/stack'] then
    config.handlers['stackguard/stack'](nil, {
      folder = vim.uri_from_fname(root),
      roots = { { root = vim.uri_from_fname(root), relativeRoot = '.', summary = 'python · fastapi',
        profile = { verify = { { name = 'lint', cmd = 'ruff check .' }, { name = 'tests', cmd = 'pytest -q' } } } } },
    }, { client_id = client.id, method = 'stackguard/stack' })
    report.verify_completion = vim.fn.getcompletion('LspStackguardVerify ', 'cmdline')
  end
  if config.handlers and config.handlers['stackguard/verifyOutput'] then
    config.handlers['stackguard/verifyOutput'](nil, {
      folder = vim.uri_from_fname(root), root = '.', step = 'lint', line = 'app/repo.py:1:1: F401 unused import',
    }, { client_id = client.id, method = 'stackguard/verifyOutput' })
    local verify_buffer = vim.fn.bufnr('stackguard://verify')
    report.verify_buffer = verify_buffer ~= -1 and vim.api.nvim_buf_get_lines(verify_buffer, 0, -1, false) or nil
  end

  report.prompts = {}
  vim.ui.input = function(opts, on_confirm)
    table.insert(report.prompts, opts.prompt)
    on_confirm(opts.prompt:find('igration') and 'add order status' or 'find orders by customer email')
  end
  local notified = {}
  vim.notify = function(message)
    table.insert(notified, message)
  end
  report.notified = notified
  local invocations = {
    'LspStackguardVerify',
    'LspStackguardVerify lint tests',
    'LspStackguardShowStack',
    '2,4LspStackguardExtractToService',
    'LspStackguardAddRepositoryMethod',
    '3,5LspStackguardAddRepositoryMethod list newest orders first',
    '3,5LspStackguardAddRepositoryMethod',
    'LspStackguardGenerateMigration',
    'LspStackguardGenerateMigration rename column',
    'LspStackguardDebugInfo',
  }
  report.invocations = {}
  for _, invocation in ipairs(invocations) do
    if commands[invocation:match('^[%d,]*(%a+)')] then
      vim.api.nvim_set_current_buf(bufnr)
      local ok, err = pcall(vim.cmd, invocation)
      table.insert(report.invocations, { invocation = invocation, ok = ok, calls = #report.calls })
      if not ok then
        table.insert(report.errors, invocation .. ': ' .. tostring(err))
      end
    end
  end
  report.uri = vim.uri_from_bufnr(bufnr)
  report.folder = vim.uri_from_fname(root)
end

local ok, err = xpcall(check, debug.traceback)
report.ok = ok
report.error = not ok and tostring(err) or nil
local out = assert(io.open(env('SG_RESULT'), 'w'))
out:write(vim.json.encode(report))
out:close()
vim.cmd(ok and 'qall!' or 'cquit 1')
