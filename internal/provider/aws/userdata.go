package aws

import (
	"fmt"
	"strings"

	"github.com/burst-sh/burst/internal/agent/runner"
	"github.com/burst-sh/burst/internal/shellquote"
)

// Boot is what an instance's user-data needs to become a burst machine.
type Boot struct {
	Machine string // the machine's name (burst agent --machine)
	Server  string // the server's base URL: https://host:port
	CAPEM   string // the CA that signed the server's certificate (PEM)
	Arch    string // Go's name of the binary's architecture: amd64, arm64
	SHA256  string // of the binary the server serves for Arch
	JoinURL string // one-time join URL minted for this machine (a secret)
	HomeID  string // the server's home id, which the agent's tasks carry
	Spot    bool   // the agent watches for spot interruption notices
}

// UserData is the POSIX sh script an instance runs as root at its first
// boot (cloud-init runs it): it fetches the burst binary from the server
// (GET /v1/dist/burst?arch=), trusting only the server's CA, refuses it
// unless its SHA-256 is b.SHA256, writes the join URL to a 0600 file and
// starts `burst agent --join-file` detached, logging to
// /var/log/burst-agent.log (or $TMPDIR when /var/log is not writable).
// Only sh and curl or wget are assumed of the image.
//
// Its files live in $HOME/.burst-machine (/var/lib/burst when HOME is
// unset or /, as under cloud-init); BURST_AGENT_LOG moves the log.
func UserData(b Boot) string {
	q := shellquote.Quote
	var s strings.Builder
	fmt.Fprintf(&s, `#!/bin/sh
# burst machine %s: fetch burst from its server, check it, and join.
set -eu
umask 077
server=%s
arch=%s
sum=%s
machine=%s
case "${HOME:-/}" in
/) dir=/var/lib/burst ;;
*) dir=$HOME/.burst-machine ;;
esac
mkdir -p "$dir"
log=${BURST_AGENT_LOG:-}
if [ -z "$log" ]; then
	if [ -w /var/log ]; then log=/var/log/burst-agent.log; else log=${TMPDIR:-/tmp}/burst-agent.log; fi
fi
say() { echo "burst user-data: $*" >&2; echo "burst user-data: $*" >>"$log"; }
cat >"$dir/ca.pem" <<'BURST_CA'
%s
BURST_CA
url="$server/v1/dist/burst?arch=$arch"
fetch() {
	if command -v curl >/dev/null 2>&1; then
		curl -fsS --cacert "$dir/ca.pem" -o "$dir/burst.new" "$url"
	elif command -v wget >/dev/null 2>&1; then
		wget -q --ca-certificate="$dir/ca.pem" -O "$dir/burst.new" "$url"
	else
		say "neither curl nor wget is installed: use an image with one of them"; exit 1
	fi
}
# openssl first: it uses the CPU's SHA instructions, 5x sha256sum's speed
# on the binary (tens of MiB).
sha() {
	if command -v openssl >/dev/null 2>&1; then openssl dgst -sha256 -r "$1" | cut -d' ' -f1
	elif command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1
	elif command -v shasum >/dev/null 2>&1; then shasum -a 256 "$1" | cut -d' ' -f1
	else say "no sha256sum, shasum or openssl to check the binary with: use an image with one of them"; exit 1
	fi
}
n=0
until fetch; do
	n=$((n + 1))
	if [ "$n" -ge 30 ]; then
		say "cannot fetch $url after $n tries: the instance must reach the server's TLS port (security group, route)"; exit 1
	fi
	sleep 2
done
got=$(sha "$dir/burst.new")
if [ "$got" != "$sum" ]; then
	rm -f "$dir/burst.new"
	say "the binary from $url has sha256 $got, not $sum: refused (the server's binary changed since this machine was started; it is started again)"
	exit 1
fi
chmod 0755 "$dir/burst.new"
mv -f "$dir/burst.new" "$dir/burst"
cat >"$dir/join" <<'BURST_JOIN'
%s
BURST_JOIN
export BURST_HOME="$dir/home"
`, b.Machine, q(b.Server), q(b.Arch), q(b.SHA256), q(b.Machine), strings.TrimSpace(b.CAPEM), b.JoinURL)
	if b.HomeID != "" {
		fmt.Fprintf(&s, "export %s=%s\n", runner.HomeIDEnv, q(b.HomeID))
	}
	s.WriteString(`set -- "$dir/burst" agent --join-file "$dir/join" --join-state "$dir/joined.json" --machine "$machine"` + "\n")
	if b.Spot {
		s.WriteString(`set -- "$@" --spot-notice aws` + "\n")
	}
	s.WriteString(`if command -v setsid >/dev/null 2>&1; then set -- setsid "$@"; fi
nohup "$@" >>"$log" 2>&1 </dev/null &
say "burst agent started (pid $!), logging to $log"
`)
	return s.String()
}
