-- wrk script: client_credentials token requests (client_secret_basic) from
-- one client, counting every HTTP status answered. Used by the outage test
-- (tests/integration/t_resilience.sh), which must tell 200 and 503 from
-- anything else; bench/cc.sh measures with the peer's own script instead.
--
--   wrk ... -s bench/wrk/cc_status.lua URL -- path=P client_id=C client_secret=S
--       [scope=S] [resource=R]
--
-- done() prints
--   RESULT script=cc_status rps=.. p50_ms=.. p99_ms=.. requests=.. bad=.. socket_errors=..
-- (bad: answers other than 200) and one line "  status N: count" per status.
local threads = {}
local req
counts = {}

local function enc(s)
  return (s:gsub('[^%w%-%._~]', function(c) return string.format('%%%02X', string.byte(c)) end))
end

-- RFC 4648 base64, for the Basic credentials
local B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
local function base64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local q = {}
    for k = 3, 0, -1 do
      local v = math.floor(n / 64 ^ k) % 64
      q[#q + 1] = B64:sub(v + 1, v + 1)
    end
    if not b then q[3], q[4] = '=', '=' elseif not c then q[4] = '=' end
    out[#out + 1] = table.concat(q)
  end
  return table.concat(out)
end

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local o = {}
  for _, a in ipairs(args) do
    local k, v = a:match('^([%w_]+)=(.*)$')
    if k then o[k] = v end
  end
  -- RFC 6749 §2.3.1: each part form-encoded, then base64 of "id:secret"
  local basic = 'Basic ' .. base64(enc(o.client_id) .. ':' .. enc(o.client_secret))
  local body = 'grant_type=client_credentials'
  if o.scope then body = body .. '&scope=' .. enc(o.scope) end
  if o.resource then body = body .. '&resource=' .. enc(o.resource) end
  req = wrk.format('POST', o.path, {
    ['Content-Type'] = 'application/x-www-form-urlencoded', ['Authorization'] = basic }, body)
end

function request()
  return req
end

function response(status)
  counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency)
  local all, ok = {}, 0
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get('counts') or {}) do
      all[status] = (all[status] or 0) + n
    end
  end
  ok = all[200] or 0
  local e = summary.errors
  io.write(string.format(
    'RESULT script=cc_status rps=%.1f p50_ms=%.2f p99_ms=%.2f requests=%d bad=%d socket_errors=%d\n',
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, summary.requests, summary.requests - ok,
    e.connect + e.read + e.write + e.timeout))
  local keys = {}
  for status in pairs(all) do keys[#keys + 1] = status end
  table.sort(keys)
  for _, status in ipairs(keys) do
    io.write(string.format('  status %d: %d\n', status, all[status]))
  end
end
