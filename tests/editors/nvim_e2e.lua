-- Drives headless Neovim (Debian's 0.7.2 in CI) for
-- tests/editors/test_nvim_headless.py through editors/nvim/lua/stackguard.lua,
-- i.e. the vim.lsp.start_client + buf_attach_client path of old Neovim:
-- open the fixture, wait for stackguard's diagnostic in vim.diagnostic.get(),
-- run the quick fix through vim.lsp.buf.code_action() (the user picking it in
-- vim.ui.select), check the buffer text, run :LspStackguardShowStack, quit.
--
-- Input: environment variables SG_RUNTIME (editors/nvim), SG_FILE (the
-- fixture), SG_PYTHON, SG_CODE, SG_FIX_TITLE, SG_RESULT (JSON written here).
-- Exit status 0 only when every step passed.

local result = { steps = {}, messages = {} }

local function env(name)
  local value = os.getenv(name)
  assert(value and value ~= '', 'missing environment variable ' .. name)
  return value
end

local function finish(ok, message)
  result.ok = ok
  result.message = message
  local file = assert(io.open(env('SG_RESULT'), 'w'))
  file:write(vim.fn.json_encode(result))
  file:close()
  if ok then
    vim.cmd('qall!')
  else
    vim.cmd('cquit 1')
  end
end

local function step(name, fn)
  local started = vim.loop.hrtime()
  fn()
  table.insert(result.steps, { name = name, ms = math.floor((vim.loop.hrtime() - started) / 1e6) })
end

local function wait(what, timeout_ms, predicate)
  if not vim.wait(timeout_ms, predicate, 50) then
    error('timed out waiting for ' .. what, 0)
  end
end

local function stackguard_diagnostics(bufnr, code)
  local found = {}
  for _, diagnostic in ipairs(vim.diagnostic.get(bufnr)) do
    if diagnostic.source == 'stackguard' and diagnostic.code == code then
      table.insert(found, diagnostic)
    end
  end
  return found
end

local function run()
  local code = env('SG_CODE')
  local fix_title = env('SG_FIX_TITLE')
  -- Keep what the server shows (window/showMessage) and what Neovim
  -- notifies (errors from commands), for the assertions and the report.
  vim.notify = function(message, level)
    table.insert(result.messages, { message = tostring(message), level = level })
  end
  local show_message = vim.lsp.handlers['window/showMessage']
  vim.lsp.handlers['window/showMessage'] = function(err, params, ctx, config)
    table.insert(result.messages, { message = params.message, level = params.type })
    return show_message(err, params, ctx, config)
  end

  step('setup', function()
    vim.opt.runtimepath:prepend(env('SG_RUNTIME'))
    vim.cmd('filetype on')
    require('stackguard').setup({ cmd = { env('SG_PYTHON'), '-m', 'stackguard', 'serve', '--stdio' } })
    assert(vim.lsp.start_client, 'this Neovim has no vim.lsp.start_client')
  end)

  local bufnr
  step('open', function()
    vim.cmd('edit ' .. vim.fn.fnameescape(env('SG_FILE')))
    bufnr = vim.api.nvim_get_current_buf()
    assert(vim.bo[bufnr].filetype == 'python', 'filetype is ' .. vim.bo[bufnr].filetype)
    wait('the stackguard client to attach', 20000, function()
      return #vim.lsp.buf_get_clients(bufnr) > 0
    end)
    local client = vim.lsp.buf_get_clients(bufnr)[next(vim.lsp.buf_get_clients(bufnr))]
    result.client = { name = client.name, root_dir = client.config.root_dir, pid = client.rpc.pid }
  end)

  local diagnostic
  step('diagnostics', function()
    wait('a stackguard ' .. code .. ' diagnostic', 60000, function()
      return #stackguard_diagnostics(bufnr, code) > 0
    end)
    diagnostic = stackguard_diagnostics(bufnr, code)[1]
    result.diagnostic = { lnum = diagnostic.lnum, col = diagnostic.col, message = diagnostic.message }
    result.line_before = vim.api.nvim_buf_get_lines(bufnr, diagnostic.lnum, diagnostic.lnum + 1, false)[1]
  end)

  step('code action', function()
    vim.api.nvim_win_set_cursor(0, { diagnostic.lnum + 1, diagnostic.col })
    local offered = {}
    vim.ui.select = function(items, _, on_choice)
      for _, item in ipairs(items) do
        table.insert(offered, item[2].title)
      end
      for index, item in ipairs(items) do
        if item[2].title == fix_title then
          return on_choice(item, index)
        end
      end
      on_choice(nil, nil)
    end
    vim.lsp.buf.code_action()
    wait('the code action list', 20000, function()
      return #offered > 0
    end)
    result.offered = offered
    wait('the quick fix to change the buffer', 20000, function()
      local line = vim.api.nvim_buf_get_lines(bufnr, diagnostic.lnum, diagnostic.lnum + 1, false)[1]
      return line ~= result.line_before
    end)
    result.line_after = vim.api.nvim_buf_get_lines(bufnr, diagnostic.lnum, diagnostic.lnum + 1, false)[1]
    wait('the ' .. code .. ' diagnostic to go away', 30000, function()
      return #stackguard_diagnostics(bufnr, code) == 0
    end)
  end)

  step('show stack command', function()
    local before = #result.messages
    vim.cmd('LspStackguardShowStack')
    wait('the stack message', 20000, function()
      for index = before + 1, #result.messages do
        if result.messages[index].message:find('fastapi', 1, true) then
          return true
        end
      end
      return false
    end)
  end)
end

local ok, err = xpcall(run, debug.traceback)
if ok then
  finish(true, 'ok')
else
  finish(false, tostring(err))
end
