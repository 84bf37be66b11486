-- wrk script: RFC 8693 token exchange (person's token as subject, the
-- agent's own token as actor), one fixed request.
--
--   wrk ... -s bench/wrk/exchange.lua URL -- path=.. client_id=.. client_secret=.. subject=.. actor=.. resource=..
local C = dofile((debug.getinfo(1, 'S').source:match('^@(.*[/\\])') or './') .. '../../../shared/bench-peer/wrk/common.lua')

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local path = C.param(args, 'path', 'TOKEN_PATH', '/token')
  local body = 'grant_type=' .. C.formenc('urn:ietf:params:oauth:grant-type:token-exchange')
    .. '&subject_token=' .. C.formenc(C.param(args, 'subject', 'SUBJECT', ''))
    .. '&subject_token_type=' .. C.formenc('urn:ietf:params:oauth:token-type:access_token')
    .. '&actor_token=' .. C.formenc(C.param(args, 'actor', 'ACTOR', ''))
    .. '&actor_token_type=' .. C.formenc('urn:ietf:params:oauth:token-type:access_token')
    .. '&resource=' .. C.formenc(C.param(args, 'resource', 'RESOURCE', ''))
  req = wrk.format('POST', path, {
    ['Content-Type'] = 'application/x-www-form-urlencoded',
    ['Authorization'] = C.basic(C.param(args, 'client_id', 'CLIENT_ID', ''),
                                C.param(args, 'client_secret', 'CLIENT_SECRET', '')),
  }, body)
  bad = 0
  statuses = {}
  expect_desc = 'status 200'
end

function request()
  return req
end

function response(status, headers, body)
  if status ~= 200 then
    bad = bad + 1
    local k = 'status ' .. tostring(status)
    statuses[k] = (statuses[k] or 0) + 1
    if bad == 1 then first_bad = tostring(status) .. ' ' .. string.sub(body or '', 1, 200) end
  end
end

function done(summary, latency, requests)
  C.report('exchange', threads, summary, latency)
end
