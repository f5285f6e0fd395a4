#!/usr/bin/env bash
# slurm-dev.sh - a real Slurm cluster on this machine, for burst's tests and demos.
#
# Usage:
#   scripts/slurm-dev.sh start  [DIR]   install Slurm + munge if missing (apt-get), write DIR/slurm.conf,
#                                       start munged, slurmctld, slurmd c1 and c2; wait until c1,c2 are idle
#   scripts/slurm-dev.sh stop   [DIR]   cancel every job, stop the daemons started by `start` (by pid file)
#   scripts/slurm-dev.sh status [DIR]   sinfo + squeue; exit 1 if the cluster is not running
#
#   eval "$(scripts/slurm-dev.sh start)"     # the LAST line of stdout is `export SLURM_CONF=DIR/slurm.conf`;
#                                            # everything else goes to stderr
# DIR defaults to /tmp/burst-slurm; config, state, spool, logs and pid files all live under it.
#
# Environment:
#   BURST_SLURM_RESUME, BURST_SLURM_SUSPEND  executables run by slurmctld as ResumeProgram/SuspendProgram
#       (argument: a hostlist such as "cl[1-2]"). When set, the cluster also has cloud (power-saving) nodes
#       cl[1-2] in partition `cloud`; unset, there are no cloud nodes. See "Cloud nodes" below for what a
#       ResumeProgram must do on this machine.
#   BURST_SLURM_PORT  first of 5 TCP ports (default 16817): slurmctld, c1, c2, cl1, cl2. Two clusters
#       (two DIRs) running at once need different ports; they share one munged, which belongs to (and is
#       stopped with) the one that started it.
#
# The cluster (Slurm 22.05 from Debian 12): ClusterName=burstdev, no accounting database (no sacct),
# static nodes c1,c2 (partition debug, default), each declaring this host's CPUs; both are slurmd processes
# on this host (Debian builds Slurm with multiple-slurmd support), so CPUs are oversubscribed 2x.
#
# Cloud nodes (quirks of 22.05 met while writing this; a ResumeProgram started for cl1 must):
#   - start `slurmd -f DIR/slurm.conf -N cl1` (SLURM_CONF is also in its environment);
#   - clear its signal mask before starting slurmd: slurmctld runs ResumeProgram with SIGTERM/SIGINT/SIGHUP
#     blocked and the mask survives exec, so the slurmd would ignore the SIGTERM of SuspendProgram/`stop`
#     (Go's os/exec clears it; a shell script must do it itself, e.g. with perl's POSIX::sigprocmask);
#   - make the slurmd look freshly booted: slurmctld ignores a resuming node whose boot time
#     (now - uptime) is older than the resume request ("Still waiting for boot"). Run it in a new time
#     namespace, >= 1-2 s after the request:  unshare --time --boottime "-$(cut -d. -f1 /proc/uptime)" --fork slurmd ...
#   A job on a cloud node takes ~30 s from submission (CONFIGURING -> RUNNING is on a compiled-in 30 s timer).
#   SuspendProgram stops that slurmd: its pid file is DIR/run/slurmd-cl1.pid. `stop` also stops it.
set -eu -o pipefail
# runuser, mungekey and the daemons live in sbin, which a CI job's or sudo's PATH may lack.
PATH=$PATH:/usr/sbin:/sbin

PKGS="slurmctld slurmd slurm-client munge"
SBIN=/usr/sbin
ME="scripts/slurm-dev.sh"

log() { printf 'slurm-dev: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}
now_ms() { date +%s%3N; }
since() { # seconds since $1 (ms), one decimal
	local d=$(($(now_ms) - $1))
	printf '%d.%d' $((d / 1000)) $((d % 1000 / 100))
}

usage() {
	cat >&2 <<EOF
usage: $ME start|stop|status [DIR]      (DIR defaults to /tmp/burst-slurm)
  eval "\$($ME start)"   starts the cluster and exports SLURM_CONF
EOF
	exit 2
}

if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi
CMD=$1
DIR=${2:-/tmp/burst-slurm}
case $DIR in /*) ;; *) DIR=$PWD/$DIR ;; esac
DIR=${DIR%/}
# slurm.conf has no quoting: a path with blanks or '#' would be cut.
case $DIR in *[[:space:]\#=]* | "") die "DIR must be a path without blanks, '#' or '=': '$DIR'" ;; esac

CONF=$DIR/slurm.conf
RUND=$DIR/run
LOGD=$DIR/log
CTLD_PID=$RUND/slurmctld.pid
MUNGE_PID=$RUND/munged.pid # exists only when this script started munged
PORT=${BURST_SLURM_PORT:-16817}
case $PORT in *[!0-9]* | "") die "BURST_SLURM_PORT must be a number, not '$PORT'" ;; esac

# alive PIDFILE NAME: the pid in PIDFILE is a live (not zombie) process called NAME.
# Checking the name guards against a stale pid file whose pid was reused.
alive() {
	local pid comm state
	pid=$(cat "$1" 2>/dev/null) || return 1
	case $pid in *[!0-9]* | "") return 1 ;; esac
	comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
	[ "$comm" = "$2" ] || return 1
	state=$(awk '/^State:/{print $2}' "/proc/$pid/status" 2>/dev/null) || return 1
	[ "$state" != Z ]
}

need_root() {
	[ "$(id -u)" = 0 ] ||
		die "run as root (this script installs packages and starts munged/slurmctld/slurmd), or point SLURM_CONF at an existing cluster"
}

running() { alive "$CTLD_PID" slurmctld && alive "$RUND/slurmd-c1.pid" slurmd && alive "$RUND/slurmd-c2.pid" slurmd; }

print_export() { printf 'export SLURM_CONF=%s\n' "$CONF"; }

# only_stdio CMD...: run CMD with nothing open but fds 0-2. munged keeps every descriptor it inherits
# open for its whole life: fd 9 (our lock on DIR, so the next start/stop would wait forever) or a
# caller's pipe (whose reader would then never see EOF). The Slurm daemons close theirs, but still.
only_stdio() {
	(
		fd=""
		for fd in /proc/"$BASHPID"/fd/*; do
			fd=${fd##*/}
			[ "$fd" -gt 2 ] 2>/dev/null || continue
			exec {fd}>&- 2>/dev/null || true
		done
		exec "$@"
	)
}

# --------------------------------------------------------------------------------------------- install
install_slurm() {
	local f missing=""
	for f in $SBIN/slurmctld $SBIN/slurmd /usr/bin/sbatch /usr/bin/sinfo $SBIN/munged /usr/bin/munge; do
		[ -x "$f" ] || missing="$missing $f"
	done
	[ -z "$missing" ] && return 0
	command -v apt-get >/dev/null ||
		die "missing$missing and no apt-get: install Slurm (slurmctld slurmd slurm-client) and munge, or point SLURM_CONF at an existing cluster"
	local t0 alog=$DIR/apt.log
	t0=$(now_ms)
	log "installing $PKGS (log: $alog)"
	export DEBIAN_FRONTEND=noninteractive
	# -o Dpkg::Options::=--force-confold: never ask about config files. No stdin: nothing may prompt.
	# "invoke-rc.d: policy-rc.d denied execution of start" in the log is expected (no services here).
	local apt=(apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confold -o Dpkg::Use-Pty=0)
	# shellcheck disable=SC2086 # word splitting of $PKGS is intended
	if ! "${apt[@]}" $PKGS </dev/null >"$alog" 2>&1; then
		# A fresh machine has no (or stale) package lists: update once and retry.
		log "apt-get install failed; running apt-get update and retrying"
		apt-get update -q </dev/null >>"$alog" 2>&1 || {
			tail -n 20 "$alog" >&2
			die "apt-get update failed (see $alog): check the network / apt sources, or install $PKGS by hand"
		}
		# shellcheck disable=SC2086
		"${apt[@]}" $PKGS </dev/null >>"$alog" 2>&1 || {
			tail -n 20 "$alog" >&2
			die "apt-get install $PKGS failed (see $alog)"
		}
	fi
	log "installed in $(since "$t0") s: $(dpkg-query -W -f='slurm ${Version}' slurmctld 2>/dev/null || true)"
}

# --------------------------------------------------------------------------------------------- munge
munge_ok() { munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; }

start_munge() {
	# An munged that already answers (the system's, or another cluster's) is shared, never stopped by us.
	munge_ok && return 0
	if [ ! -s /etc/munge/munge.key ]; then # the package's postinst normally creates it
		log "creating /etc/munge/munge.key"
		mungekey --create --keyfile=/etc/munge/munge.key
		chown munge:munge /etc/munge/munge.key
		chmod 0400 /etc/munge/munge.key
	fi
	# /run/munge is not created by the package when no init system runs; munged insists that
	# its socket directory belongs to the munge user and is not writable by others.
	install -d -o munge -g munge -m 0755 /run/munge
	# munged writes its pid to /run/munge/munged.pid (its default); we keep a copy in DIR/run so that
	# `stop` knows this script started it. stdio away from our stdout: `eval "$(... start)"` must not hang.
	only_stdio runuser -u munge -- $SBIN/munged </dev/null >"$LOGD/munged.out" 2>&1 ||
		{
			cat "$LOGD/munged.out" >&2
			die "munged failed to start (see /var/log/munge/munged.log)"
		}
	local i
	for i in $(seq 50); do
		munge_ok && break
		sleep 0.1
	done
	munge_ok || die "munged started but does not answer (see /var/log/munge/munged.log)"
	[ -s /run/munge/munged.pid ] && cp /run/munge/munged.pid "$MUNGE_PID"
	return 0
}

# --------------------------------------------------------------------------------------------- config
write_conf() { # write_conf FILE
	local host ncpu mem_total mem resume="${BURST_SLURM_RESUME:-}" suspend="${BURST_SLURM_SUSPEND:-}"
	host=$(hostname -s 2>/dev/null || uname -n)
	host=${host%%.*}
	ncpu=$(nproc)
	# RealMemory per node: 2000 MB, less on a small machine (slurmd drains a node that declares more
	# memory than the machine has; the two slurmd's each check it against the whole machine).
	mem_total=$(awk '/^MemTotal:/{print int($2/1024)}' /proc/meminfo)
	mem=2000
	[ "$mem_total" -lt 2500 ] && mem=$((mem_total / 2))

	if [ -n "$resume$suspend" ]; then
		if [ -z "$resume" ] || [ -z "$suspend" ]; then
			die "set both BURST_SLURM_RESUME and BURST_SLURM_SUSPEND (or neither, for no cloud nodes)"
		fi
		local p
		for p in "$resume" "$suspend"; do
			if [ ! -f "$p" ] || [ ! -x "$p" ]; then
				die "'$p' (BURST_SLURM_RESUME/SUSPEND) is not an executable file"
			fi
		done
		resume=$(readlink -f "$resume")
		suspend=$(readlink -f "$suspend")
	fi

	cat >"$1" <<EOF
# Written by $ME start; rewritten on every fresh start (edits are lost).
ClusterName=burstdev
# The controller must be named by this host's short name (slurmctld refuses to run otherwise);
# everyone reaches it on loopback.
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$PORT
AuthType=auth/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$DIR/state
# %n = node name: several slurmd's share this host and need their own spool, pid and log files.
SlurmdSpoolDir=$DIR/spool/%n
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$RUND/slurmd-%n.pid
SlurmctldLogFile=$LOGD/slurmctld.log
SlurmdLogFile=$LOGD/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
MpiDefault=none
# Silences "Configured MailProg is invalid" (no mail here). The PMIx errors in the logs are harmless.
MailProg=/bin/true
# No accounting database (AccountingStorageType defaults to none): sacct does not work. Read job
# results from 'scontrol show job -o' or 'squeue --json' (finished jobs stay for MinJobAge seconds).
JobCompType=jobcomp/none
MinJobAge=600

# Scheduling: try to start jobs as soon as they arrive: a job starts ~0.5-1 s after sbatch instead
# of ~3 s. (Beyond that Slurm still starts about one job per free CPU per scheduling pass.)
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
# Cores and memory are the consumable resources. DefMemPerCPU matters: without it each job
# reserves a whole node's memory and jobs run one at a time per node.
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=256
# No cgroups needed (containers often lack a writable cgroup tree): track processes by parent pid.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
# Sample job usage every second (MaxRSS is only recorded for a job that outlives one interval).
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=1
# Seconds between SIGTERM and SIGKILL when a job is cancelled or times out (default 30).
KillWait=2
# A node that was DOWN (e.g. its slurmd restarted) becomes usable again as soon as it registers.
ReturnToService=2
# slurmctld talks to every node directly rather than through a forwarding tree, so a stopped or
# powered-down node never has to relay messages for the others (recommended for cloud nodes).
TreeWidth=65533

# Static nodes: two slurmd's on this host (slurmd -f $CONF -N c1).
NodeName=c[1-2] NodeHostname=$host NodeAddr=127.0.0.1 Port=[$((PORT + 1))-$((PORT + 2))] CPUs=$ncpu RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=c[1-2] Default=YES MaxTime=INFINITE State=UP
EOF
	[ -n "$resume" ] || return 0
	cat >>"$1" <<EOF

# Cloud (power-saving) nodes: powered down ("idle~" in sinfo) until a job needs them; slurmctld then runs
# ResumeProgram cl1 (the program must start 'slurmd -N cl1', see $ME), and SuspendProgram once a
# node has been idle for SuspendTime seconds.
ResumeProgram=$resume
SuspendProgram=$suspend
SuspendTime=20
# Seconds allowed for SuspendProgram / for a resumed node to register before it is marked DOWN.
SuspendTimeout=10
ResumeTimeout=30
# 0 = no limit on how many nodes are resumed / suspended per minute.
ResumeRate=0
SuspendRate=0
# Never power down the static nodes.
SuspendExcParts=debug
# A node that is suspended becomes IDLE (not DOWN/DRAIN), so it can be resumed again.
SlurmctldParameters=idle_on_node_suspend
# Despite its name this makes powered-down cloud nodes VISIBLE: without it sinfo/scontrol/squeue
# do not show cl1,cl2 until they are powered up (partition cloud reads "0 n/a"), even to root.
PrivateData=cloud
NodeName=cl[1-2] NodeHostname=$host NodeAddr=127.0.0.1 Port=[$((PORT + 3))-$((PORT + 4))] CPUs=$ncpu RealMemory=$mem State=CLOUD
PartitionName=cloud Nodes=cl[1-2] MaxTime=INFINITE State=UP
EOF
}

# --------------------------------------------------------------------------------------------- stop
# stop_pid PIDFILE NAME: SIGTERM, wait up to 15 s, then SIGKILL. Only the pid in the file, never by name.
stop_pid() {
	local pid i
	if alive "$1" "$2"; then
		pid=$(cat "$1")
		kill "$pid" 2>/dev/null || true
		for i in $(seq 150); do
			alive "$1" "$2" || break
			sleep 0.1
		done
		if alive "$1" "$2"; then
			log "$2 (pid $pid) ignored SIGTERM for 15 s; sending SIGKILL"
			kill -9 "$pid" 2>/dev/null || true
			sleep 0.2
		fi
	fi
	rm -f "$1"
}

cancel_all_jobs() {
	# Jobs outlive slurmd (their slurmstepd's are separate processes): cancel them first so that
	# nothing of the test suite keeps running after `stop`.
	alive "$CTLD_PID" slurmctld || return 0
	local ids i
	ids=$(SLURM_CONF=$CONF squeue -h -o %A 2>/dev/null | sort -u | tr '\n' ' ') || return 0
	[ -n "${ids// /}" ] || return 0
	log "cancelling jobs: $ids"
	# shellcheck disable=SC2086
	SLURM_CONF=$CONF scancel $ids 2>/dev/null || true
	for i in $(seq 100); do # KillWait=2: running jobs are gone within ~3 s
		[ -z "$(SLURM_CONF=$CONF squeue -h -t R,CG,CF,S -o %A 2>/dev/null)" ] && return 0
		sleep 0.1
	done
	log "some jobs still running or completing after 10 s"
}

do_stop() {
	local f
	cancel_all_jobs
	for f in "$RUND"/slurmd-*.pid; do # c1, c2 and any cloud node a ResumeProgram started
		[ -e "$f" ] && stop_pid "$f" slurmd
	done
	stop_pid "$CTLD_PID" slurmctld
	if [ -e "$MUNGE_PID" ]; then
		if other_slurm_daemons; then
			# Another cluster on this host came up meanwhile and uses our munged:
			# leave it running (it is then nobody's to stop).
			log "munged left running: other Slurm daemons on this host use it"
			rm -f "$MUNGE_PID"
		else
			stop_pid "$MUNGE_PID" munged
		fi
	fi
	return 0
}

# other_slurm_daemons: is any slurmctld or slurmd running (not a zombie)?
# Called after this cluster's daemons were stopped.
other_slurm_daemons() {
	local d comm state
	for d in /proc/[0-9]*; do
		comm=$(cat "$d/comm" 2>/dev/null) || continue
		case $comm in slurmctld | slurmd) ;; *) continue ;; esac
		state=$(awk '/^State:/ {print $2}' "$d/status" 2>/dev/null) || continue
		[ "$state" != Z ] && return 0
	done
	return 1
}

# --------------------------------------------------------------------------------------------- start
show_logs() {
	local f
	for f in "$LOGD"/*; do
		[ -s "$f" ] || continue
		printf '\n==> %s <==\n' "$f" >&2
		tail -n 15 "$f" >&2
	done
	if [ -s /var/log/munge/munged.log ]; then
		printf '\n==> %s <==\n' /var/log/munge/munged.log >&2
		tail -n 5 /var/log/munge/munged.log >&2
	fi
}

fail_start() {
	log "error: $*"
	show_logs
	log "stopping what was started; logs are in $LOGD"
	do_stop
	exit 1
}

# start_daemon NAME ARGS...: the daemon forks into the background itself; its early errors
# (e.g. a bad slurm.conf) land in LOGD/NAME.out. Its stdio is never our stdout: a caller's
# "$(... start)" would wait for it to close.
start_daemon() {
	local name=$1
	shift
	only_stdio "$@" </dev/null >"$LOGD/$name.out" 2>&1 || fail_start "$name failed to start ($*)"
}

do_start() {
	local t0 i st p
	t0=$(now_ms)
	# A fresh cluster each time: no jobs or node states from a previous run (job ids restart at 1).
	rm -rf "$DIR/state" "$DIR/spool" "$LOGD"
	mkdir -p "$DIR/state" "$DIR/spool/c1" "$DIR/spool/c2" "$DIR/spool/cl1" "$DIR/spool/cl2" "$RUND" "$LOGD"
	write_conf "$CONF"
	for p in $(seq "$PORT" $((PORT + 4))); do
		# bash's /dev/tcp: a connection succeeds only if something listens there already.
		if (: <>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			die "TCP port $p is in use (another Slurm, or this script on another DIR?): stop it, or set BURST_SLURM_PORT to the first of 5 free ports"
		fi
	done
	export SLURM_CONF=$CONF # for the clients below and everything the daemons start (ResumeProgram, jobs)
	start_munge
	start_daemon slurmctld $SBIN/slurmctld -f "$CONF"
	start_daemon slurmd-c1 $SBIN/slurmd -f "$CONF" -N c1
	start_daemon slurmd-c2 $SBIN/slurmd -f "$CONF" -N c2
	for i in $(seq 300); do
		st=$(sinfo -h -N -p debug -o '%N=%T' 2>/dev/null | sort | tr '\n' ' ') || true
		# Our daemons must be the ones answering: check they still run (a port clash kills them).
		[ "$st" = "c1=idle c2=idle " ] && running && break
		if [ "$i" -ge 20 ] && ! running; then
			fail_start "a daemon exited: slurmctld $(alive "$CTLD_PID" slurmctld && echo up || echo DEAD)," \
				"slurmd c1 $(alive "$RUND/slurmd-c1.pid" slurmd && echo up || echo DEAD)," \
				"slurmd c2 $(alive "$RUND/slurmd-c2.pid" slurmd && echo up || echo DEAD)"
		fi
		sleep 0.1
	done
	[ "$st" = "c1=idle c2=idle " ] || fail_start "nodes c1,c2 not idle after 30 s (sinfo: ${st:-no answer})"
	log "cluster burstdev up in $(since "$t0") s ($CONF)"
}

# --------------------------------------------------------------------------------------------- main
case $CMD in
start)
	if [ "$(id -u)" = 0 ]; then
		mkdir -p "$DIR"
		# Serialise concurrent starts/stops on the same DIR (e.g. test packages run in parallel).
		exec 9>"$DIR/.lock"
		flock -w 300 9 || die "timed out waiting for another $ME on $DIR"
	fi
	if running; then
		if [ "$(id -u)" = 0 ]; then
			start_munge # in case munged alone went away
			# Same config? Only warn: the running cluster is reused as it is.
			write_conf "$DIR/slurm.conf.new"
			cmp -s "$CONF" "$DIR/slurm.conf.new" ||
				log "warning: running with a different config than this start would write (e.g. cloud nodes); '$ME stop $DIR' first to apply it"
			rm -f "$DIR/slurm.conf.new"
		fi
		log "already running ($CONF)"
		print_export
		exit 0
	fi
	need_root
	if alive "$CTLD_PID" slurmctld || compgen -G "$RUND/slurmd-*.pid" >/dev/null; then
		log "partly running: stopping the rest before a fresh start"
		do_stop
	fi
	# One start at a time on this host: apt-get and dpkg take a lock of their own
	# and fail rather than wait, and two clusters may share one munged (test
	# packages run in parallel, each with its own cluster).
	exec 8>>/tmp/burst-slurm-dev.lock
	flock -w 600 8 || die "timed out waiting for another $ME start on this host"
	install_slurm
	do_start
	exec 8>&-
	print_export
	;;
stop)
	need_root
	if [ ! -d "$DIR" ]; then
		log "not running ($DIR)"
		exit 0
	fi
	exec 9>"$DIR/.lock"
	flock -w 300 9 || die "timed out waiting for another $ME on $DIR"
	if ! alive "$CTLD_PID" slurmctld && ! compgen -G "$RUND/slurmd-*.pid" >/dev/null && [ ! -e "$MUNGE_PID" ]; then
		log "not running ($DIR)"
		exit 0
	fi
	do_stop
	log "stopped ($DIR)"
	;;
status)
	if ! alive "$CTLD_PID" slurmctld; then
		log "not running ($DIR); start it with: $ME start $DIR"
		exit 1
	fi
	export SLURM_CONF=$CONF
	echo "SLURM_CONF=$CONF"
	for n in c1 c2; do
		alive "$RUND/slurmd-$n.pid" slurmd || echo "warning: slurmd $n is not running"
	done
	sinfo
	squeue
	;;
*) usage ;;
esac
