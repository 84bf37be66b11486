#!/usr/bin/env bash
# layers.sh: the layer check (issue 12, DESIGN.md). Every #include of a
# project header must go to the same layer or a lower one:
#
#   0 util                     authz/util/
#   1 crypto policy config log authz/crypto/ authz/policy/ authz/config.* authz/log.* authz/metrics.*
#   2 net                      authz/net/
#   3 storage, caches          storage/ authz/cache.* authz/revset.* authz/lookup.* authz/baseline.*
#   4 runtime                  authz/runtime/ authz/notify/
#   5 http                     authz/http/
#   6 oauth web admin          authz/oauth/ authz/web/ authz/admin/
#   7 programs                 authz/main.c authz/ctl.c authz/boot.*
#
# Also: no SQL text outside storage/ (a string literal starting with SELECT,
# INSERT, UPDATE, DELETE, WITH, COPY, BEGIN ... in authz/).
# Prints each violation; exits 1 when there is any.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

layer_of() { # path relative to the repository root -> layer number, or -1
  case $1 in
    authz/util/*) echo 0 ;;
    authz/crypto/* | authz/policy/* | authz/config.* | authz/log.* | authz/metrics.*) echo 1 ;;
    authz/net/*) echo 2 ;;
    storage/* | authz/cache.* | authz/revset.* | authz/lookup.* | authz/baseline.*) echo 3 ;;
    authz/runtime/* | authz/notify/*) echo 4 ;;
    authz/http/*) echo 5 ;;
    authz/oauth/* | authz/web/* | authz/admin/*) echo 6 ;;
    authz/main.c | authz/ctl.c | authz/boot.*) echo 7 ;;
    *) echo -1 ;;
  esac
}

# an include "x/y.h" is looked up in authz/ first, then at the root
resolve() { # INCLUDE -> path relative to the root, or nothing
  if [[ -f authz/$1 ]]; then echo "authz/$1"; elif [[ -f $1 ]]; then echo "$1"; fi
}

bad=0
while IFS= read -r f; do
  lf=$(layer_of "$f")
  if (( lf < 0 )); then
    echo "layers: $f is in no layer (add it to scripts/layers.sh)"
    bad=$((bad + 1))
    continue
  fi
  while IFS=: read -r line inc; do
    target=$(resolve "$inc")
    [[ -n $target ]] || continue
    lt=$(layer_of "$target")
    if (( lt > lf )); then
      echo "layers: $f:$line includes $inc (layer $lt) from layer $lf"
      bad=$((bad + 1))
    fi
  done < <(grep -n '^#include "' "$f" | sed -E 's/^([0-9]+):#include "([^"]+)".*/\1:\2/')
done < <(git ls-files 'authz/*.c' 'authz/*.h' 'storage/*.c' 'storage/*.h')

# SQL only in storage/
while IFS= read -r hit; do
  echo "layers: SQL outside storage/: $hit"
  bad=$((bad + 1))
done < <(git grep -nE '"(SELECT|INSERT|UPDATE|DELETE|WITH|COPY|LISTEN|CREATE|ALTER|DROP|TRUNCATE|LOCK) |"(BEGIN|COMMIT|ROLLBACK)["; ]' -- 'authz/*.c' 'authz/*.h' || true)

if (( bad )); then
  echo "layers: $bad violation(s)"
  exit 1
fi
echo "layers: ok"
