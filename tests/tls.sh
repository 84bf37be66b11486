# shellcheck shell=bash
# tests/tls.sh: TLS helpers for the tests (t_tls.sh, the conformance run over
# TLS in scripts/test). Source it after tests/lib.sh.
#
#   tls_make_ca DIR                 a throw-away CA: DIR/ca.pem, DIR/ca.key (EC P-256)
#   tls_make_cert DIR NAME CN SERIAL [ec|rsa]
#                                   DIR/NAME.pem and DIR/NAME.key: a server
#                                   certificate for CN, signed by DIR's CA, with
#                                   serial SERIAL (hex) and subjectAltName
#                                   IP:127.0.0.1, DNS:localhost
#   authz_start_tls NAME PORT CERT KEY CA [K=V...]
#                                   like authz_start, over TLS: listens on
#                                   127.0.0.1:PORT with tls_cert/tls_key and
#                                   public_url https://127.0.0.1:PORT; waits for
#                                   https /healthz verified against CA. Sets
#                                   AZT_PID[NAME], AZT_URL[NAME] (https) and
#                                   AZT_ADMIN_URL when unset; authz_stop NAME
#                                   stops it.
#
# Every lib.sh helper that runs curl (http, admin, discovery) verifies https
# against the CA when CURL_CA_BUNDLE points at DIR/ca.pem (curl reads it).

tls_make_ca() {
  local dir=$1
  mkdir -p "$dir"
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$dir/ca.key" -out "$dir/ca.pem" -days 2 -subj "/CN=authz test CA $$" \
    -addext 'basicConstraints=critical,CA:TRUE' \
    -addext 'keyUsage=critical,keyCertSign,cRLSign' 2>/dev/null
}

tls_make_cert() {
  local dir=$1 name=$2 cn=$3 serial=$4 kind=${5:-ec}
  local newkey=(-newkey ec -pkeyopt ec_paramgen_curve:P-256)
  [[ $kind == rsa ]] && newkey=(-newkey rsa:2048)
  openssl req -new "${newkey[@]}" -nodes -keyout "$dir/$name.key" -out "$dir/$name.csr" \
    -subj "/CN=$cn" 2>/dev/null
  printf '%s\n' 'subjectAltName=IP:127.0.0.1,DNS:localhost' 'basicConstraints=critical,CA:FALSE' \
    'keyUsage=critical,digitalSignature,keyEncipherment' 'extendedKeyUsage=serverAuth' \
    > "$dir/$name.ext"
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
    -set_serial "0x$serial" -days 2 -extfile "$dir/$name.ext" -out "$dir/$name.pem" 2>/dev/null
  rm -f "$dir/$name.csr" "$dir/$name.ext"
  chmod 600 "$dir/$name.key"
}

# Wait until https://127.0.0.1:PORT/healthz answers 200 (verified against CA)
# while PID lives.
_azt_wait_healthy_tls() {
  local pid=$1 port=$2 ca=$3 secs=${4:-30} i
  for (( i = 0; i < secs * 20; i++ )); do
    if curl -fsS -o /dev/null --max-time 2 --cacert "$ca" "https://127.0.0.1:$port/healthz" 2>/dev/null; then
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || return 1
    [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) == Z ]] && return 1
    sleep 0.05
  done
  return 1
}

authz_start_tls() {
  local name=$1 port=$2 cert=$3 key=$4 ca=$5; shift 5
  local log=$AZT_LOG_DIR/$name.log pid
  [[ -z ${AZT_PID[$name]:-} ]] || { echo "authz_start_tls: $name already started" >&2; return 1; }
  env -u AUTHZ_BUILD_DIR -u AUTHZ_LISTEN -u AUTHZ_PUBLIC_URL \
    AUTHZ_LISTEN="127.0.0.1:$port" AUTHZ_PUBLIC_URL="https://127.0.0.1:$port" \
    AUTHZ_TLS_CERT="$cert" AUTHZ_TLS_KEY="$key" "$@" \
    "$AUTHZ_BUILD_DIR/authzd" -c "$AZT_CONF" >"$log" 2>&1 </dev/null &
  pid=$!
  AZT_PID[$name]=$pid
  AZT_URL[$name]=https://127.0.0.1:$port
  [[ -n $AZT_ADMIN_URL ]] || AZT_ADMIN_URL=https://127.0.0.1:$port
  if ! _azt_wait_healthy_tls "$pid" "$port" "$ca" "${AZT_START_TIMEOUT:-30}"; then
    echo "authz_start_tls: authzd '$name' did not become healthy on https://127.0.0.1:$port; log $log:" >&2
    tail -n 30 "$log" | _azt_details >&2
    return 1
  fi
}
