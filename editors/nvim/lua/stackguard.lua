-- stackguard for Neovim 0.7 – 0.10 (and a one-call setup on 0.11+).
--
--   require('stackguard').setup({ settings = { stackguard = { ignore = { 'SG501' } } } })
--
-- On Neovim >= 0.11 this is `vim.lsp.config('stackguard', opts)` +
-- `vim.lsp.enable('stackguard')` over lsp/stackguard.lua. On older versions
-- it reuses the same config table (cmd, filetypes, root markers, settings,
-- handlers, user commands) and starts one client per project root: with
-- vim.lsp.start on 0.8+, with vim.lsp.start_client + buf_attach_client on 0.7.
local M = {}

local uv = vim.uv or vim.loop

--- The config table of lsp/stackguard.lua (found on 'runtimepath').
function M.base_config()
  local file = vim.api.nvim_get_runtime_file('lsp/stackguard.lua', false)[1]
  if not file then
    error('stackguard: lsp/stackguard.lua is not on runtimepath; add the editors/nvim folder to it')
  end
  return dofile(file)
end

local function dirname(path)
  return path:match('^(.*)[/\\][^/\\]*$')
end

local function matches(marker, dir)
  if type(marker) == 'function' then
    local handle = uv.fs_scandir(dir)
    while handle do
      local name = uv.fs_scandir_next(handle)
      if not name then
        break
      end
      if marker(name, dir) then
        return true
      end
    end
    return false
  end
  return uv.fs_stat(dir .. '/' .. marker) ~= nil
end

--- The nearest ancestor of `path` holding a marker; earlier markers win,
--- as with vim.fs.root on Neovim 0.10+.
function M.find_root(path, markers)
  for _, marker in ipairs(markers) do
    local dir = dirname(path)
    while dir and dir ~= '' do
      if matches(marker, dir) then
        return dir
      end
      local parent = dirname(dir)
      if parent == dir then
        break
      end
      dir = parent
    end
  end
  return nil
end

--- Old clients have no `client:exec_cmd`; give on_attach one that sends
--- workspace/executeCommand the same way.
local function with_exec_cmd(client)
  if client.exec_cmd then
    return client
  end
  return setmetatable({
    exec_cmd = function(_, command, context, handler)
      client.request('workspace/executeCommand', {
        command = command.command,
        arguments = command.arguments,
      }, handler, context and context.bufnr)
    end,
  }, { __index = client })
end

local clients_by_root = {}

local function attach_legacy(config, bufnr, root)
  local key = root
  local client_id = clients_by_root[key]
  if client_id and vim.lsp.get_client_by_id(client_id) then
    vim.lsp.buf_attach_client(bufnr, client_id)
    return client_id
  end
  local start_config = vim.tbl_extend('force', config, {
    name = 'stackguard',
    root_dir = root,
    workspace_folders = { { uri = vim.uri_from_fname(root), name = vim.fn.fnamemodify(root, ':t') } },
  })
  client_id = vim.lsp.start_client(start_config)
  if client_id then
    clients_by_root[key] = client_id
    vim.lsp.buf_attach_client(bufnr, client_id)
  end
  return client_id
end

function M.setup(opts)
  opts = opts or {}
  if vim.lsp.config and vim.lsp.enable then
    vim.lsp.config('stackguard', opts)
    vim.lsp.enable('stackguard')
    return
  end
  local config = vim.tbl_deep_extend('force', M.base_config(), opts)
  local on_attach = config.on_attach
  config.on_attach = function(client, bufnr)
    if on_attach then
      on_attach(with_exec_cmd(client), bufnr)
    end
  end

  local group = vim.api.nvim_create_augroup('stackguard', { clear = true })
  vim.api.nvim_create_autocmd('FileType', {
    group = group,
    pattern = config.filetypes,
    callback = function(args)
      local bufnr = args.buf
      local name = vim.api.nvim_buf_get_name(bufnr)
      if name == '' or vim.bo[bufnr].buftype ~= '' then
        return
      end
      local root = config.root_dir or M.find_root(name, config.root_markers) or dirname(name)
      if vim.lsp.start then
        vim.lsp.start(vim.tbl_extend('force', config, { name = 'stackguard', root_dir = root }), { bufnr = bufnr })
      else
        attach_legacy(config, bufnr, root)
      end
    end,
  })
end

return M
