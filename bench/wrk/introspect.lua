-- wrk script: RFC 7662 introspection of one access token by the resource
-- server it is for (client_secret_basic), one fixed request; bad unless 200
-- with "active":true.
--
--   wrk ... -s bench/wrk/introspect.lua URL -- path=.. client_id=.. client_secret=.. token=..
local C = dofile((debug.getinfo(1, 'S').source:match('^@(.*[/\\])') or './') .. '../../../shared/bench-peer/wrk/common.lua')

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local path = C.param(args, 'path', 'INTROSPECT_PATH', '/introspect')
  req = wrk.format('POST', path, {
    ['Content-Type'] = 'application/x-www-form-urlencoded',
    ['Authorization'] = C.basic(C.param(args, 'client_id', 'CLIENT_ID', ''),
                                C.param(args, 'client_secret', 'CLIENT_SECRET', '')),
  }, 'token=' .. C.formenc(C.param(args, 'token', 'TOKEN', '')))
  bad = 0
  statuses = {}
  expect_desc = 'status 200, active true'
end

function request()
  return req
end

function response(status, headers, body)
  if status ~= 200 or not (body and body:find('"active":true', 1, true)) then
    bad = bad + 1
    local k = 'status ' .. tostring(status)
    statuses[k] = (statuses[k] or 0) + 1
    if bad == 1 then first_bad = tostring(status) .. ' ' .. string.sub(body or '', 1, 200) end
  end
end

function done(summary, latency, requests)
  C.report('introspect', threads, summary, latency)
end
