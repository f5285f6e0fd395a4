#!/bin/bash
# `burst storage get` from MinIO as the store against `mc cp` of the same
# object, one or more burst builds interleaved, on loopback: a MinIO and a
# local server of each build (its own home), no test hosts, no root. Prints
# per round the wall time, user and system CPU of each client and the CPU
# MinIO spent serving it (centiseconds); every get is compared with the
# file. Each build's blob is put once, then fetched each round to a fresh
# file.
#
#   bench/stage/minio-get.sh SIZE ROUNDS BURST...      e.g. 1G 5 /tmp/burst-main bin/burst
#
# WRAP (burst) and WRAPM (mc) prefix the commands, e.g.
# WRAP="strace -f -T -e trace=fsync,sync_file_range -o /tmp/st"; PROF=/tmp/p
# writes burst's CPU profile to /tmp/p.storage (BURST_CPUPROFILE).
# MinIO and mc are found as bench/stage finds them ($MINIO_BIN, $MC_BIN).
set -eu
size=$1 rounds=$2; shift 2
bins=("$@")
minio=${MINIO_BIN:-/var/cache/burst-minio/bin/minio}
mc=${MC_BIN:-/var/cache/burst-mc/bin/mc}
w=$(mktemp -d /tmp/burst-minio-get.XXXXXX)
port=$((20000 + RANDOM % 20000))
export MINIO_ROOT_USER=getbench MINIO_ROOT_PASSWORD=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
"$minio" server --quiet --address 127.0.0.1:$port --console-address 127.0.0.1:$((port + 1)) "$w/minio" >"$w/minio.log" 2>&1 &
mpid=$!
# Each build's server (and its local agent) is stopped by that build; MinIO by its pid.
cleanup() {
  for i in "${!bins[@]}"; do BURST_HOME=$w/h$i "${bins[$i]}" server stop --all >/dev/null 2>&1 || true; done
  kill $mpid 2>/dev/null; wait $mpid 2>/dev/null || true
  rm -rf "$w"
}
trap cleanup EXIT
until curl -sf http://127.0.0.1:$port/minio/health/ready; do sleep 0.2; done
export MC_HOST_m=http://$MINIO_ROOT_USER:$MINIO_ROOT_PASSWORD@127.0.0.1:$port MC_CONFIG_DIR=$w/mc
"$mc" --quiet mb m/bench >/dev/null
export AWS_ACCESS_KEY_ID=$MINIO_ROOT_USER AWS_SECRET_ACCESS_KEY=$MINIO_ROOT_PASSWORD
head -c "$size" /dev/urandom >"$w/big.bin"
n=$(stat -c %s "$w/big.bin")
"$mc" --quiet cp "$w/big.bin" m/bench/obj >/dev/null
declare -A dig
for i in "${!bins[@]}"; do
  export BURST_HOME=$w/h$i; mkdir -p "$BURST_HOME"
  "${bins[$i]}" storage set "s3://bench/h$i" --endpoint "http://127.0.0.1:$port" >/dev/null 2>&1
  dig[$i]=$("${bins[$i]}" storage put "$w/big.bin" 2>/dev/null | awk '{print $1}')
done
unset BURST_HOME
cpu() { awk '{print $14+$15}' /proc/$mpid/stat; }
for r in $(seq "$rounds"); do
  rm -f "$w/got"; sync; m0=$(cpu)
  t=$( { /usr/bin/time -f '%e s  user %U  sys %S' ${WRAPM:-} "$mc" --quiet cp m/bench/obj "$w/got" >/dev/null; } 2>&1 | tail -1)
  echo "round $r  mc cp        $t  MinIO $(( $(cpu) - m0 ))cs"
  for i in "${!bins[@]}"; do
    rm -f "$w/got"; sync; m0=$(cpu)
    t=$( { BURST_HOME=$w/h$i BURST_CPUPROFILE=${PROF:-} /usr/bin/time -f '%e s  user %U  sys %S' ${WRAP:-} "${bins[$i]}" storage get "${dig[$i]}" --size "$n" -o "$w/got" >/dev/null; } 2>&1 | tail -1)
    echo "round $r  burst ($i)   $t  MinIO $(( $(cpu) - m0 ))cs"
    cmp -s "$w/got" "$w/big.bin" || { echo "round $r burst ($i): the blob fetched differs" >&2; exit 1; }
  done
done
