#!/usr/bin/env bash
# bench/cimd.sh: a CIMD client's token request against a registered client's
# (issue 13, SPEC §11: "as fast as a registered client's once its document is
# cached"). Both are public clients (token_endpoint_auth_method none) of one
# tenant with the same redirect URI, scopes and resource; the CIMD client's
# client_id is the URL of its metadata document, served over http on
# 127.0.0.1 (allowed while public_url is loopback) with max-age=3600.
#
# 1. builds authz, starts a private PostgreSQL and authzd (threads=2);
# 2. seeds BENCH_SEEDS refresh tokens for each client through the code flow
#    (bench/cimd_seed.mjs: sign-in and consent once, then authorize+redeem);
# 3. runs wrk (bench/wrk/refresh_public.lua: the refresh grant, rotation on
#    every use) against each, registered first, then CIMD, then registered
#    again (so that neither side gets only the warmer database);
# 4. prints the RESULT lines, the ratio, how many times the document was
#    fetched (it must be once), and appends a dated summary to
#    bench/results/cimd.txt.
#
#   bench/cimd.sh        BENCH_DURATION=10s BENCH_CONNECTIONS=32 BENCH_SEEDS=300
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
DURATION=${BENCH_DURATION:-10s}
CONNS=${BENCH_CONNECTIONS:-32}
SEEDS=${BENCH_SEEDS:-300}
REDIRECT=http://127.0.0.1:33420/cb

if [[ ! -x configure || configure -ot configure.ac ]]; then autoreconf -fi >/dev/null 2>&1; fi
if [[ ! -f Makefile ]]; then ./configure -q; fi
make -j2 >/dev/null
[[ -d conformance/node_modules ]] || (cd conformance && npm ci --no-audit --no-fund >/dev/null)

export AZT_PG_FAST=${AZT_PG_FAST:-0}
source tests/lib.sh
pg_start_tmp
authzctl migrate >/dev/null
port=$(free_port)
authz_start bench "$port" AUTHZ_THREADS=2 AUTHZ_LOG_LEVEL=warn AUTHZ_ARGON2_M_COST_KIB=1024 AUTHZ_ARGON2_T_COST=1
base=${AZT_URL[bench]}
ISS=$base/t/bench
RESOURCE=https://mcp.example.test/
authzctl tenant create bench "Bench" >/dev/null
admin POST /admin/v1/tenants/bench/resources "{\"uri\":\"$RESOURCE\",\"scopes\":[\"tools:read\",\"tools:call\"]}"
admin POST /admin/v1/tenants/bench/users '{"username":"alice","password":"bench password","scopes":["tools:read","tools:call"]}'
admin POST /admin/v1/tenants/bench/clients "{\"client_name\":\"registered app\",\"token_endpoint_auth_method\":\"none\",\"grant_types\":[\"authorization_code\",\"refresh_token\"],\"redirect_uris\":[\"$REDIRECT\"],\"allowed_resources\":[\"$RESOURCE\"]}"
reg=$(jq -r .client_id <<<"$AZT_BODY")
[[ $reg != null ]] || { echo "cimd.sh: client not created: $AZT_BODY" >&2; exit 1; }

# the metadata document, on a small http server of its own (counts its GETs)
docport=$(free_port)
CIMD=http://127.0.0.1:$docport/clients/app.json
cat > "$AZT_TMP/docsrv.py" <<PY
import http.server, json, sys
doc = json.dumps({"client_id": "$CIMD", "client_name": "CIMD app", "redirect_uris": ["$REDIRECT"],
                  "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
                  "token_endpoint_auth_method": "none"}).encode()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open("$AZT_TMP/docsrv.hits", "a") as f: f.write("1\n")
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "max-age=3600"); self.end_headers(); self.wfile.write(doc)
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", $docport), H).serve_forever()
PY
: > "$AZT_TMP/docsrv.hits"
python3 "$AZT_TMP/docsrv.py" &
register_pid $!
sleep 0.5

echo "== seeding $SEEDS refresh tokens for each client"
node bench/cimd_seed.mjs "$ISS" "$reg" "$REDIRECT" "$RESOURCE" alice "bench password" "$SEEDS" > "$AZT_TMP/reg.txt"
node bench/cimd_seed.mjs "$ISS" "$CIMD" "$REDIRECT" "$RESOURCE" alice "bench password" "$SEEDS" > "$AZT_TMP/cimd.txt"
head -n $(( SEEDS / 2 )) "$AZT_TMP/reg.txt" > "$AZT_TMP/reg1.txt"
tail -n +$(( SEEDS / 2 + 1 )) "$AZT_TMP/reg.txt" > "$AZT_TMP/reg2.txt"

results=()
run() { # name client_id tokens
  local out=$AZT_TMP/wrk-$1.txt
  echo "== $1"
  wrk -t2 -c"$CONNS" -d"$DURATION" --latency -s bench/wrk/refresh_public.lua "$base" -- \
    path=/t/bench/oauth2/token client_id="$2" tokens="$3" threads=2 name="$1" | tee "$out" | grep -E '^(RESULT|bad|  )'
  results+=("$(grep '^RESULT' "$out")")
}
run registered-a "$reg" "$AZT_TMP/reg1.txt"
run cimd "$CIMD" "$AZT_TMP/cimd.txt"
run registered-b "$reg" "$AZT_TMP/reg2.txt"

rps() { sed -n "s/^RESULT script=$1 rps=\([0-9.]*\).*/\1/p" <<<"$(printf '%s\n' "${results[@]}")"; }
p50() { sed -n "s/^RESULT script=$1 .*p50_ms=\([0-9.]*\).*/\1/p" <<<"$(printf '%s\n' "${results[@]}")"; }
a=$(rps registered-a); b=$(rps registered-b); c=$(rps cimd)
regavg=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.1f", (a + b) / 2 }')
ratio=$(awk -v c="$c" -v r="$regavg" 'BEGIN { printf "%.3f", c / r }')
fetches=$(wc -l < "$AZT_TMP/docsrv.hits")
summary="$(date -u +%Y-%m-%dT%H:%MZ) $(git rev-parse --short HEAD) conns=$CONNS dur=$DURATION: registered $a / $b rps (p50 $(p50 registered-a) / $(p50 registered-b) ms), CIMD $c rps (p50 $(p50 cimd) ms); CIMD/registered = $ratio; document fetched $fetches time(s)"
echo "$summary"
mkdir -p bench/results
echo "$summary" >> bench/results/cimd.txt
