-- A headless Neovim attaching `bmad lsp` with its built-in client (tests/integration/lsp_nvim.rs):
-- it waits for the file's diagnostics, asks for a definition and writes both to BMAD_OUT.
local bmad = os.getenv('BMAD_BIN')
local file = os.getenv('BMAD_FILE')
local out = os.getenv('BMAD_OUT')
local line = tonumber(os.getenv('BMAD_LINE'))
local column = tonumber(os.getenv('BMAD_COLUMN'))

local function finish(lines)
  vim.fn.writefile(lines, out)
  vim.cmd('qall!')
end

vim.cmd('edit ' .. vim.fn.fnameescape(file))
vim.bo.filetype = 'bmad'
local buf = vim.api.nvim_get_current_buf()
local config = { name = 'bmad', cmd = { bmad, 'lsp' }, root_dir = vim.fn.fnamemodify(file, ':h') }
local id
if vim.lsp.start then
  -- Neovim 0.8 and later.
  id = vim.lsp.start(config)
else
  -- Neovim 0.7 (Debian 12): start the client and attach the buffer.
  id = vim.lsp.start_client(config)
  vim.lsp.buf_attach_client(buf, id)
end
if not id then
  finish({ 'error: the client did not start' })
  return
end

local got = vim.wait(60000, function() return #vim.diagnostic.get(buf) > 0 end, 50)
local lines = {}
if not got then
  table.insert(lines, 'error: no diagnostics')
end
for _, d in ipairs(vim.diagnostic.get(buf)) do
  local code = d.code or (d.user_data and d.user_data.lsp and d.user_data.lsp.code) or ''
  table.insert(lines, 'diagnostic ' .. d.lnum .. ' ' .. code .. ' ' .. d.message:gsub('\n', ' | '))
end

local client = vim.lsp.get_client_by_id(id)
local params = {
  textDocument = { uri = vim.uri_from_bufnr(buf) },
  position = { line = line, character = column },
}
local answer = client.request_sync('textDocument/definition', params, 60000, buf)
if answer and answer.result then
  table.insert(lines, 'definition ' .. vim.fn.json_encode(answer.result))
else
  table.insert(lines, 'error: no definition: ' .. vim.fn.json_encode(answer or {}))
end
finish(lines)
