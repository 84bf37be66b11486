-- wrk script: RFC 6749 §6 refresh grant with rotation, for a public client
-- (client_id in the body, no client authentication: RFC 6749 §2.3, §6). Every answer carries
-- a new refresh token, which replaces the one just used: each thread keeps a
-- pool of live refresh tokens, seeded from a file (one token per line).
--
--   wrk ... -s bench/wrk/refresh_public.lua URL -- path=/t/x/oauth2/token client_id=.. tokens=FILE name=..
--
-- done() prints: RESULT script=refresh rps=.. p50_ms=.. p90_ms=.. p99_ms=.. max_ms=.. requests=.. bad=.. socket_errors=.. non2xx3xx=..
local C = dofile((debug.getinfo(1, 'S').source:match('^@(.*[/\\])') or './') .. '../../../shared/bench-peer/wrk/common.lua')

local threads = {}
local counter = 0

function setup(thread)
  thread:set('id', counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local path = C.param(args, 'path', 'TOKEN_PATH', '/token')
  local client_id = C.param(args, 'client_id', 'CLIENT_ID', '')
  local file = C.param(args, 'tokens', 'TOKENS', '')
  local nthreads = tonumber(C.param(args, 'threads', 'WRK_THREADS', '2'))
  cid = C.formenc(client_id)
  name = C.param(args, 'name', 'BENCH_NAME', 'refresh_public')
  tpath = path
  pool = {}
  local i = 0
  for line in io.lines(file) do
    -- thread k takes every nthreads-th token, so no token is used twice
    if i % nthreads == id then table.insert(pool, line) end
    i = i + 1
  end
  bad = 0
  statuses = {}
  expect_desc = 'status 200 with a new refresh_token'
end

function request()
  local rt = table.remove(pool)
  if rt == nil then
    -- every live token is in flight; ask with a dummy (counted as bad)
    rt = 'exhausted'
  end
  return wrk.format('POST', tpath, {
    ['Content-Type'] = 'application/x-www-form-urlencoded',
  }, 'grant_type=refresh_token&client_id=' .. cid .. '&refresh_token=' .. rt)
end

function response(status, headers, body)
  local rt = body and body:match('"refresh_token":"([^"]+)"')
  if status == 200 and rt then
    table.insert(pool, rt)
  else
    bad = bad + 1
    local k = 'status ' .. tostring(status)
    statuses[k] = (statuses[k] or 0) + 1
    if bad == 1 then first_bad = tostring(status) .. ' ' .. string.sub(body or '', 1, 200) end
  end
end

function done(summary, latency, requests)
  C.report(threads[1]:get('name') or 'refresh_public', threads, summary, latency)
end
