-- wrk script: client_credentials token requests (client_secret_post) spread
-- over many clients that share one secret (bench/cascade.sh makes them so).
--
--   wrk ... -s bench/wrk/cc_many.lua URL -- PATH CLIENTS_FILE SECRET [RESOURCE]
--
-- CLIENTS_FILE: one client_id a line. Each request picks one at random.
-- done() prints one line:
--   RESULT script=cc_many rps=.. p50_ms=.. p99_ms=.. max_ms=.. requests=.. non2xx=..
local ids, path, secret, resource

local function formenc(s)
  return (s:gsub('[^%w%-%._~]', function(c) return string.format('%%%02X', string.byte(c)) end))
end

function init(args)
  path, secret, resource = args[1], args[3], args[4]
  ids = {}
  for line in io.lines(args[2]) do
    if line ~= '' then ids[#ids + 1] = line end
  end
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end

function request()
  local id = ids[math.random(#ids)]
  local body = 'grant_type=client_credentials&client_id=' .. formenc(id) ..
    '&client_secret=' .. formenc(secret)
  if resource and resource ~= '' then body = body .. '&resource=' .. formenc(resource) end
  return wrk.format('POST', path, { ['Content-Type'] = 'application/x-www-form-urlencoded' }, body)
end

function done(summary, latency, requests)
  local non2xx = summary.errors.status
  io.write(string.format(
    'RESULT script=cc_many rps=%.1f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f requests=%d non2xx=%d\n',
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, summary.requests, non2xx))
end
