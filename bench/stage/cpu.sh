#!/bin/bash
# CPU of `burst storage put` and `burst storage get` on the server's own host
# (client and server together: utime+stime), two builds interleaved, against
# `cp` + `sync`. CPU, not wall-clock time: on a shared machine the rates move
# with the load, the CPU a transfer costs does not. Each build gets a home of
# its own (its own local server); each round changes the file's first bytes,
# so every upload is new to the store.
#
#   bench/stage/cpu.sh OLD_BURST NEW_BURST [SIZE (default 1G)] [ROUNDS (default 3)]
#
# Prints per round and build: put (client user sys wall, server cpu) and get
# (the same); docs/benchmarks.md's Staging section has figures.
set -eu
old=$1 new=$2 size=${3:-1G} rounds=${4:-3}
work=$(mktemp -d /tmp/burst-stage-cpu.XXXXXX)
# Each home's server and its local agent are stopped by the build that started them.
trap 'BURST_HOME=$work/h-old "$old" server stop --all >/dev/null 2>&1; BURST_HOME=$work/h-new "$new" server stop --all >/dev/null 2>&1; rm -rf "$work"' EXIT
head -c "$size" /dev/urandom > "$work/big.bin"
n=$(stat -c %s "$work/big.bin")
cpu() { awk '{printf "%.2f", ($14+$15)/100}' "/proc/$1/stat"; }
for r in $(seq "$rounds"); do
  for b in old new; do
    bin=$old; [ $b = new ] && bin=$new
    export BURST_HOME=$work/h-$b; mkdir -p "$BURST_HOME"
    printf '%08d' "$r$RANDOM" | dd of="$work/big.bin" bs=1 seek=0 conv=notrunc 2>/dev/null
    "$bin" storage ls >/dev/null 2>&1 # the server is up before the clock starts
    pid=$(sed 's/.*"pid":\([0-9]*\).*/\1/' "$BURST_HOME/server.json")
    s0=$(cpu "$pid")
    put=$( { /usr/bin/time -f '%U %S %e' "$bin" storage put "$work/big.bin" >"$work/out"; } 2>&1 | tail -1)
    s1=$(cpu "$pid")
    rm -f "$work/got.bin"
    get=$( { /usr/bin/time -f '%U %S %e' "$bin" storage get "$(awk '{print $1}' "$work/out")" --size "$n" -o "$work/got.bin" >/dev/null; } 2>&1 | tail -1)
    s2=$(cpu "$pid")
    cmp -s "$work/got.bin" "$work/big.bin" || { echo "round $r $b: the blob read back differs" >&2; exit 1; }
    echo "round $r $b  put: client $put  server $(echo "$s1 - $s0" | bc)   get: client $get  server $(echo "$s2 - $s1" | bc)"
  done
  rm -f "$work/cp.bin"
  echo "round $r cp + sync: $( { /usr/bin/time -f '%U %S %e' sh -c "cp '$work/big.bin' '$work/cp.bin' && sync '$work/cp.bin'"; } 2>&1 | tail -1)"
done
