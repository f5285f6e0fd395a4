#!/usr/bin/env bash
# hosts.sh - test "hosts" that share nothing with burst's server, all on this one machine.
#
# Usage:
#   scripts/hosts.sh start N                 make hosts bh1..bhN (idempotent: what exists is kept, what is missing made)
#   scripts/hosts.sh add I                   make host bhI alone (idempotent), e.g. the EC2 stand-in's from 101 on
#   scripts/hosts.sh stop [N]                remove hosts bh1..bhN (no N: every host and the bridge), only when no
#                                            one holds the lock (below); else it refuses and names who holds it
#   scripts/hosts.sh exec I [OPTS] CMD...    run CMD on host I (see below); exits with CMD's status
#   scripts/hosts.sh status                  list the hosts: name, address, link state; exit 1 if there is none
#
# A host is a network namespace bhI on the private bridge bh-br0: the root side of the bridge is 10.251.0.1/24
# and host I is 10.251.0.(10+I) (I from 1 to 200). Hosts get no default route and this script never turns on IP
# forwarding, so an address outside the bridge fails at once instead of leaving the machine. Only these
# addresses and loopback are ever targeted.
#
# `exec` runs CMD in host I's network namespace and, besides, in namespaces of its own (a new one per exec):
#   - mount: a private, empty /tmp (tmpfs); HOME=/tmp/home; the directory BURST_HOME names (the server's home)
#     covered by an empty tmpfs when it is not under /tmp already, then BURST_HOME unset;
#   - UTS: the host name is bhI, so a burst server sees a machine of another host (it never signals by pid there);
#   - PID: CMD sees only its own processes in /proc, so it cannot reach the server's files through
#     /proc/PID/root or /proc/PID/cwd; when the exec ends (or is killed) every process it started is killed.
# Options of exec, before CMD:
#   --hide DIR   cover DIR with an empty tmpfs too (repeatable): a test's temporary directory outside /tmp
#   --bin FILE   copy FILE into the host's /tmp/bin (as installing it on a new machine) and put /tmp/bin first in
#                PATH: e.g. a burst binary that lives under the hidden /tmp
# Anything else CMD needs (a token, a CA) is handed to it through its standard input, never through a shared path.
#
# The lock /run/lock/burst-hosts.lock says who uses the hosts: `exec` holds it shared for as long as CMD runs,
# and so does every e2e test binary that uses them; `stop` takes it exclusively without waiting and refuses when
# anyone holds it. A caller that already holds it exclusively (the e2e suite at its end) hands its open file to
# stop as a file descriptor named in HOSTS_LOCK_FD.
#
# Example:
#   sudo scripts/hosts.sh start 2
#   burst server --listen 10.251.0.1:7780 &
#   scripts/hosts.sh exec 1 sh -c 'cat > /tmp/token && exec burst agent --server http://10.251.0.1:7780 \
#       --token-file /tmp/token --machine bh1 --cluster hosts </dev/null' < ~/.burst/token
#   sudo scripts/hosts.sh stop
set -euo pipefail

bridge=bh-br0
net=10.251.0
max=200
lockfile=/run/lock/burst-hosts.lock
makelock=/run/lock/burst-hosts-make.lock

die() { echo "hosts.sh: $*" >&2; exit 2; }

usage() {
  sed -n '3,8p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

need_root() {
  if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null 2>&1; then
    die "needs root and iproute2: apt-get install -y iproute2 (and run as root)"
  fi
  ip netns list >/dev/null 2>&1 || die "ip netns does not work here (a kernel without network namespaces?); needs root and iproute2: apt-get install -y iproute2"
}

host_number() { # host_number ARG: checks ARG is 1..max
  case ${1:-} in
  '' | *[!0-9]* | 0*) die "host number must be 1 to $max, got '${1:-}'" ;;
  esac
  [ "$1" -le "$max" ] || die "host number must be 1 to $max, got $1"
}

# open_lock opens the lock file on fd 8 (kept across exec: what holds fd 8 holds the lock).
open_lock() {
  mkdir -p "$(dirname "$lockfile")"
  exec 8>>"$lockfile" || die "cannot open $lockfile"
}

# holders names the processes that have the lock file open (flock's own record names the process that took
# the lock, which may be gone while its open file lives on in a child): "pid 123 (e2e.test), pid 456 (unshare)".
holders() {
  local pid
  for pid in $(fuser "$lockfile" 2>/dev/null); do
    [ "$pid" != "$$" ] || continue
    printf 'pid %s (%s), ' "$pid" "$(cat "/proc/$pid/comm" 2>/dev/null || echo gone)"
  done | sed 's/, $//'
}

# made lists the hosts this script made, by number.
made() {
  ip netns list 2>/dev/null | awk '{print $1}' | sed -n 's/^bh\([1-9][0-9]*\)$/\1/p' | sort -n
}

start_one() {
  local i=$1 ns=bh$1 veth=bh-v$1 addr=$net.$((10 + $1))
  ip netns list | awk '{print $1}' | grep -x >/dev/null "$ns" || ip netns add "$ns"
  if ! ip link show "$veth" >/dev/null 2>&1; then
    # A half-made host (its veth gone): its end inside is gone with it, or is removed here.
    ip -n "$ns" link del eth0 2>/dev/null || true
    ip link add "$veth" type veth peer name eth0 netns "$ns"
  fi
  ip link set "$veth" master "$bridge" up
  ip -n "$ns" addr show dev eth0 | grep >/dev/null "inet $addr/24" || ip -n "$ns" addr add "$addr/24" dev eth0
  ip -n "$ns" link set lo up
  ip -n "$ns" link set eth0 up
  echo "host $ns $addr"
}

# one_maker waits until no other start or add runs: each looks for the bridge and a host's links before making
# them, and two at once (two stand-ins adding hosts, a test suite starting its own) would both find one missing.
# fd 7 closes with the script; nothing it starts outlives it.
one_maker() {
  mkdir -p "$(dirname "$makelock")"
  exec 7>>"$makelock" || die "cannot open $makelock"
  flock -x 7 || die "cannot lock $makelock"
}

# bridge_up makes the bridge when it is missing.
bridge_up() {
  if ! ip link show "$bridge" >/dev/null 2>&1; then
    ip link add "$bridge" type bridge
  fi
  ip addr show dev "$bridge" | grep >/dev/null "inet $net.1/24" || ip addr add "$net.1/24" dev "$bridge"
  ip link set "$bridge" up
}

# wait_up I: host I is ready when its link is up and its bridge port forwarding (state 3).
wait_up() {
  local tries=0
  until ip -o link show "bh-v$1" | grep >/dev/null 'state UP' && [ "$(cat "/sys/class/net/bh-v$1/brport/state" 2>/dev/null)" = 3 ]; do
    tries=$((tries + 1))
    [ $tries -lt 50 ] || die "host bh$1: its link bh-v$1 on $bridge does not come up"
    sleep 0.1
  done
}

cmd_start() {
  [ $# -eq 1 ] || usage
  host_number "$1"
  need_root
  one_maker
  bridge_up
  local i
  for i in $(seq 1 "$1"); do start_one "$i"; done
  # The hosts are ready before this returns.
  for i in $(seq 1 "$1"); do wait_up "$i"; done
}

cmd_add() {
  [ $# -eq 1 ] || usage
  host_number "$1"
  need_root
  one_maker
  bridge_up
  start_one "$1"
  wait_up "$1"
}

cmd_stop() {
  [ $# -le 1 ] || usage
  local upto=$max
  if [ $# -eq 1 ]; then
    host_number "$1"
    upto=$1
  fi
  need_root
  local fd=8
  if [ -n "${HOSTS_LOCK_FD:-}" ]; then
    case $HOSTS_LOCK_FD in
    '' | *[!0-9]*) die "HOSTS_LOCK_FD must be the number of an open file descriptor, got '$HOSTS_LOCK_FD'" ;;
    esac
    fd=$HOSTS_LOCK_FD
  else
    open_lock
  fi
  if ! flock -n -x "$fd"; then
    die "refusing to stop: the hosts are in use by $(holders) (they hold $lockfile); end those first"
  fi
  local i
  for i in $(made); do
    [ "$i" -le "$upto" ] || continue
    # Processes still running in a host's namespace would keep it: they are its own, and end with it.
    local pids
    pids=$(ip netns pids "bh$i" 2>/dev/null || true)
    [ -z "$pids" ] || kill -9 $pids 2>/dev/null || true
    ip netns del "bh$i"
    ip link del "bh-v$i" 2>/dev/null || true
  done
  local left
  left=$(made | awk -v upto="$upto" '$1 <= upto' | sed 's/^/bh/' | tr '\n' ' ')
  [ -z "$left" ] || die "hosts left after stop: $left"
  # The bridge goes with the last host.
  [ -n "$(made)" ] || ip link del "$bridge" 2>/dev/null || true
}

cmd_status() {
  [ $# -eq 0 ] || usage
  command -v ip >/dev/null 2>&1 || die "needs root and iproute2: apt-get install -y iproute2"
  local hosts
  hosts=$(made)
  if [ -z "$hosts" ]; then
    echo "no hosts (scripts/hosts.sh start N makes them)"
    return 1
  fi
  local i
  for i in $hosts; do
    local state
    state=$(ip -n "bh$i" -o link show eth0 2>/dev/null | grep -o 'state [A-Z]*' | cut -d' ' -f2 || true)
    echo "bh$i $net.$((10 + i)) ${state:-missing}"
  done
}

cmd_exec() {
  [ $# -ge 2 ] || usage
  host_number "$1"
  need_root
  local i=$1
  shift
  # Held shared until CMD ends (fd 8 stays open in the unshare that waits for it): no stop removes the host
  # under CMD, and one under way is waited for.
  open_lock
  flock -s 8 || die "cannot lock $lockfile"
  ip netns list | awk '{print $1}' | grep -x >/dev/null "bh$i" || die "no host bh$i: run scripts/hosts.sh start $i first"
  local hide=() bin=""
  while [ $# -gt 0 ]; do
    case $1 in
    --hide) [ $# -ge 2 ] || usage; hide+=("$2"); shift 2 ;;
    --bin) [ $# -ge 2 ] || usage; bin=$2; shift 2 ;;
    --) shift; break ;;
    *) break ;;
    esac
  done
  [ $# -ge 1 ] || usage
  if [ -n "${BURST_HOME:-}" ]; then
    case $BURST_HOME/ in
    /tmp/*) ;;
    *) [ -d "$BURST_HOME" ] && hide+=("$BURST_HOME") ;;
    esac
  fi
  local d
  for d in "${hide[@]+"${hide[@]}"}"; do
    [ -d "$d" ] || die "--hide $d: not a directory"
  done
  if [ -n "$bin" ]; then
    [ -f "$bin" ] && [ -x "$bin" ] || die "--bin $bin: not an executable file"
  fi
  # The inner shell gets the directories to hide in HOSTS_HIDE (newline-separated) and the binary on fd 9,
  # opened before /tmp is covered.
  local list=""
  for d in "${hide[@]+"${hide[@]}"}"; do list+="$d"$'\n'; done
  local inner='
    set -e
    hostname "$HOSTS_NAME"
    mount -t tmpfs -o mode=1777 tmpfs /tmp
    printf %s "$HOSTS_HIDE" | while IFS= read -r d; do [ ! -d "$d" ] || mount -t tmpfs -o mode=0755 tmpfs "$d"; done
    mkdir -p /tmp/home
    if [ -n "$HOSTS_BIN" ]; then
      mkdir -p /tmp/bin
      cat <&9 > "/tmp/bin/$HOSTS_BIN"
      chmod 0755 "/tmp/bin/$HOSTS_BIN"
      PATH=/tmp/bin:$PATH
    fi
    exec 9<&- 8>&-
    unset HOSTS_NAME HOSTS_HIDE HOSTS_BIN BURST_HOME
    export HOME=/tmp/home PATH
    cd /tmp/home
    exec "$@"'
  local binfd=/dev/null
  [ -z "$bin" ] || binfd=$bin
  HOSTS_NAME=bh$i HOSTS_HIDE=$list HOSTS_BIN=${bin:+$(basename "$bin")} \
    exec ip netns exec "bh$i" unshare --mount --uts --pid --fork --kill-child --mount-proc --propagation private \
    sh -c "$inner" sh "$@" 9<"$binfd"
}

[ $# -ge 1 ] || usage
cmd=$1
shift
case $cmd in
start) cmd_start "$@" ;;
add) cmd_add "$@" ;;
stop) cmd_stop "$@" ;;
exec) cmd_exec "$@" ;;
status) cmd_status "$@" ;;
-h | --help | help) usage ;;
*) echo "hosts.sh: unknown command '$cmd'" >&2; usage ;;
esac
