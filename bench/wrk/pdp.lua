-- wrk script: the AuthZEN PDP (SPEC §12), one fixed request: a single
-- evaluation (batch=0) or a batch of `batch` evaluations of one agent token
-- (AuthZEN §7: the subject and action as top-level defaults, one resource
-- per evaluation), as an MCP server asks before tools/call or to filter
-- tools/list. Counts as bad any answer that is not 200 with every decision
-- true.
--
--   wrk ... -s bench/wrk/pdp.lua URL -- path=.. client_id=.. client_secret=.. token=.. server=.. tool=.. batch=N
local C = dofile((debug.getinfo(1, 'S').source:match('^@(.*[/\\])') or './') .. '../../../shared/bench-peer/wrk/common.lua')

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

local function jstr(s)
  return '"' .. s:gsub('[%c"\\]', function(c) return string.format('\\u%04x', c:byte()) end) .. '"'
end

function init(args)
  local path = C.param(args, 'path', 'PDP_PATH', '/access/v1/evaluation')
  local token = C.param(args, 'token', 'TOKEN', '')
  local server = C.param(args, 'server', 'SERVER', '')
  local tool = C.param(args, 'tool', 'TOOL', 'search')
  batch = tonumber(C.param(args, 'batch', 'BATCH', '0'))
  local resource = '{"type":"mcp_tool","id":' .. jstr(tool) .. ',"properties":{"server":' .. jstr(server) .. '}}'
  local subject = '{"type":"agent_token","id":' .. jstr(token) .. '}'
  local body
  if batch > 0 then
    local evs = {}
    for i = 1, batch do
      evs[i] = '{"resource":' .. resource .. ',"context":{"arguments":{"n":' .. i .. '}}}'
    end
    body = '{"subject":' .. subject .. ',"action":{"name":"tools/call"},"evaluations":[' .. table.concat(evs, ',') .. ']}'
  else
    body = '{"subject":' .. subject .. ',"action":{"name":"tools/call"},"resource":' .. resource
      .. ',"context":{"arguments":{"q":"x"}}}'
  end
  req = wrk.format('POST', path, {
    ['Content-Type'] = 'application/json',
    ['Authorization'] = C.basic(C.param(args, 'client_id', 'CLIENT_ID', ''),
                                C.param(args, 'client_secret', 'CLIENT_SECRET', '')),
  }, body)
  bad = 0
  statuses = {}
  expect_desc = 'status 200, every decision true'
end

function request()
  return req
end

function response(status, headers, body)
  local ok = status == 200 and body and not body:find('"decision":false', 1, true)
  if not ok then
    bad = bad + 1
    local k = 'status ' .. tostring(status)
    statuses[k] = (statuses[k] or 0) + 1
    if bad == 1 then first_bad = tostring(status) .. ' ' .. string.sub(body or '', 1, 200) end
  end
end

function done(summary, latency, requests)
  local n = threads[1] and threads[1]:get('batch') or 0
  C.report(n > 0 and ('pdp_batch' .. n) or 'pdp', threads, summary, latency)
end
