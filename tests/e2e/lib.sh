# Shared by the end-to-end tests: start/stop the real daemon, assertions.
# Each test is a bash script that sources this file; a failed assertion
# exits non-zero with a message. Traffic stays on 127.0.0.0/8 and ::1.

set -euo pipefail

: "${PBXGUARD:?set PBXGUARD to the pbxguard binary}"
E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$E2E_DIR/../.." && pwd)
T=$(mktemp -d /tmp/pbxguard-e2e.XXXXXX)
DAEMON_PID=
AT_EXIT=()
trap 'cleanup' EXIT

# Fixtures (userdb, htpasswd files) are made with the tools under a policy
# that only advises: these tests are about the doors. t190 is about the
# policy itself and passes its own configuration with -c/--config.
cat >"$T/tools.conf" <<CONF
[global]
statedir = $T
[sip]
transports = udp:127.0.0.1:1
[password-policy]
mode = advise
min-length = 1
blocklist = none
min-zxcvbn-score = 0
max-repeat = 128
max-sequence = 128
allow-digits-only = yes
CONF
export PBXGUARD_CONFIG=$T/tools.conf

# Two network namespaces joined by a veth pair, removed at exit: A (the
# server, $1 = NET.1) and B (the peers, NET.2 and up, $2 of them). Sets
# A and B and defines inA/inB. Exits 77 (skip) where namespaces cannot be
# made. $1: the /24's first three octets, like 10.77.0.
netns_pair() {
	local net=$1 npeers=${2:-2}
	A=pbxg-a-$$ B=pbxg-b-$$
	if ! ip netns add "$A" 2>"$T/netns.err"; then
		echo "SKIP: cannot create a network namespace here: $(cat "$T/netns.err")"
		exit 77
	fi
	ip netns add "$B"
	at_exit ip netns del "$A"
	at_exit ip netns del "$B"
	ip link add vA netns "$A" type veth peer name vB netns "$B"
	ip -n "$A" addr add "$net.1/24" dev vA
	for h in $(seq 2 $((npeers + 1))); do ip -n "$B" addr add "$net.$h/24" dev vB; done
	for ns in "$A" "$B"; do ip -n "$ns" link set lo up; done
	ip -n "$A" link set vA up
	ip -n "$B" link set vB up
}
inA() { ip netns exec "$A" "$@"; }
inB() { ip netns exec "$B" "$@"; }

# Registers a command for cleanup (a helper process, a namespace). Never
# replace the trap: cleanup must see the test's own exit status first.
at_exit() { AT_EXIT+=("$*"); }

cleanup() {
	local rc=$?
	for c in "${AT_EXIT[@]}"; do eval "$c" >/dev/null 2>&1 || true; done
	if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
		kill -TERM "$DAEMON_PID" 2>/dev/null || true
		wait "$DAEMON_PID" 2>/dev/null || true
	fi
	if [ $rc -ne 0 ] && [ -f "$T/daemon.log" ]; then
		echo "--- daemon log (last 30 lines) ---" >&2
		tail -n 30 "$T/daemon.log" >&2
	fi
	if [ -n "${E2E_KEEP:-}" ]; then echo "kept $T" >&2; else rm -rf "$T"; fi
	exit $rc
}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

pass() {
	echo "  ok: $*"
}

# Writes a config for port $1 with the userdb $2, extra auth options $3 and
# extra [bans] options $4. Kernel bans are off unless a test asks: the tests
# run as root, and only the netns test may touch nftables.
write_conf() {
	local port=$1 userdb=$2 extra=${3:-} bans=${4:-}
	cat >"$T/pbxguard.conf" <<CONF
[global]
statedir = $T
[module::Authentication]
auth-domains = example.org 127.0.0.1
file-path = $userdb
$extra
[bans]
nftables = no
$bans
[sip]
transports = udp:127.0.0.1:$port tcp:127.0.0.1:$port udp:[::1]:$port
CONF
}

start_daemon() {
	"$PBXGUARD" serve -c "${1:-$T/pbxguard.conf}" >"$T/daemon.log" 2>&1 &
	DAEMON_PID=$!
	for _ in $(seq 1 100); do
		grep -q "pbxguard ready" "$T/daemon.log" 2>/dev/null && return 0
		kill -0 "$DAEMON_PID" 2>/dev/null || fail "daemon exited at start: $(cat "$T/daemon.log")"
		sleep 0.05
	done
	fail "daemon did not become ready"
}

# Stops the daemon; it must exit 0 with no sanitizer report.
stop_daemon() {
	kill -TERM "$DAEMON_PID"
	local rc=0
	wait "$DAEMON_PID" || rc=$?
	DAEMON_PID=
	[ $rc -eq 0 ] || fail "daemon exited with status $rc"
	if grep -qE "AddressSanitizer|LeakSanitizer|runtime error:" "$T/daemon.log"; then
		fail "sanitizer report in the daemon log"
	fi
}

# users.csv for sipp: user;[authentication username=.. password=..]
make_users() { # $1 = file, $2 = count, $3 = prefix
	local f=$1 n=$2 prefix=${3:-u}
	echo SEQUENTIAL >"$f"
	for i in $(seq 1 "$n"); do
		echo "$prefix$i;[authentication username=$prefix$i password=pw-$prefix$i-Secret]"
	done >>"$f"
}

# A userdb with n users prefix1..prefixN@example.org, written by our own tool.
make_userdb() { # $1 = file, $2 = count, $3 = prefix
	printf 'version:1\n' >"$1"
	for i in $(seq 1 "$2"); do
		printf 'pw-%s%s-Secret\n' "$3" "$i" | "$PBXGUARD" userdb add "$1" "$3$i@example.org" >/dev/null
	done
}

count() { grep -c -- "$1" "$2" || true; }

# Registers $1 with password $2 using linphonec on 127.0.0.1:$3 (UDP).
# 0 when LinphoneRegistrationOk shows in its log, 1 otherwise.
linphone_register() {
	local user=$1 pw=$2 port=$3 domain=${4:-example.org} home
	home=$(mktemp -d "$T/home-$1.XXXX")
	mkdir -p "$home/.local/share/linphone"
	cat >"$home/rc" <<RC
[sip]
sip_port=-1
sip_tcp_port=0
sip_tls_port=0
[proxy_0]
reg_proxy=<sip:127.0.0.1:$port;transport=udp>
reg_identity=sip:$user@$domain
reg_expires=3600
reg_sendregister=1
[auth_info_0]
username=$user
passwd=$pw
realm=$domain
domain=$domain
RC
	mkfifo "$home/in"
	HOME=$home linphonec -c "$home/rc" -d 6 -l "$home/log" <"$home/in" >/dev/null 2>&1 &
	local pid=$!
	exec 7>"$home/in" # hold stdin open: end of input means quit
	local rc=1
	for _ in $(seq 1 100); do
		if grep -q "LinphoneRegistrationOk" "$home/log" 2>/dev/null; then rc=0; break; fi
		grep -q "LinphoneRegistrationFailed" "$home/log" 2>/dev/null && break
		sleep 0.1
	done
	kill -TERM $pid 2>/dev/null || true
	wait $pid 2>/dev/null || true
	exec 7>&-
	return $rc
}

# One registration of user $2 with password $3 from source address $1 to
# 127.0.0.1:$4, by sipp. $5 = 200 (register-once.xml) or 403 (must be
# refused after the challenge: wrong-password.xml). Exit 0 when it went so.
sipp_once() {
	local src=$1 user=$2 pw=$3 port=$4 want=$5 f sc=register-once.xml
	f=$(mktemp "$T/once.XXXXXX")
	printf 'SEQUENTIAL\n%s;[authentication username=%s password=%s]\n' "$user" "$user" "$pw" >"$f.csv"
	[ "$want" = 403 ] && sc=wrong-password.xml
	sipp -sf "$E2E_DIR/scenarios/$sc" -inf "$f.csv" -m 1 -i "$src" -p 0 -timeout 4 \
		-timeout_error -nostdin 127.0.0.1:"$port" >"$f.out" 2>&1
}

# An OPTIONS ping from $1 to 127.0.0.1:$2 over ${3:-udp}; prints the first
# reply. It waits up to $WAIT seconds (3): a test that expects silence sets
# WAIT=0.5, since only an expected answer must survive a loaded machine.
ping_from() {
	local tp=${3:-udp}
	printf 'OPTIONS sip:example.org SIP/2.0\r\nVia: SIP/2.0/%s %s:5999;branch=z9hG4bK-p%s\r\nFrom: <sip:ping@example.org>;tag=1\r\nTo: <sip:example.org>\r\nCall-ID: ping-%s\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n' \
		"${tp^^}" "$1" "$RANDOM" "$RANDOM" |
		/usr/bin/python3 "$E2E_DIR/sipclient.py" "$tp" 127.0.0.1 "$2" - --src "$1" --wait "${WAIT:-3}" --first || true
}

ctl() { "$PBXGUARD" ctl -c "$T/pbxguard.conf" "$@"; }

# A TLS phone for sipp, which Debian builds without TLS: stunnel4 takes plain
# TCP on 127.0.0.1:$1 to pbxguard's TLS port $2, verifying our certificate
# ($T/tls/cert.pem) and host name. Its log: $T/stunnel.log.
start_stunnel() {
	cat >"$T/stunnel.conf" <<CONF
foreground = yes
pid =
[sip]
client = yes
accept = 127.0.0.1:$1
connect = 127.0.0.1:$2
verifyChain = yes
CAfile = $T/tls/cert.pem
checkHost = localhost
CONF
	stunnel "$T/stunnel.conf" >"$T/stunnel.log" 2>&1 &
	at_exit "kill $!"
	sleep 0.5
}

# Database servers of our own (t230, t240, bench/sql.sh).
. "$E2E_DIR/dbservers.sh"

# ---- two nodes (the shared-state tests: t240, t245, t250) --------------------
# node_conf NAME STATE SIP [BANS]: $T/NAME.conf for a node with its own state
# directory, sharing state STATE, with the accounts of $T/userdb. SIP: the
# [sip] section's lines (and any section after it); BANS: more [bans] lines.
node_conf() {
	mkdir -p "$T/$1"
	cat >"$T/$1.conf" <<CONF
[global]
statedir = $T/$1
state = $2
[module::Authentication]
auth-domains = example.org
file-path = $T/userdb
[bans]
nftables = no
pike-limit = 0
${4:-}
[sip]
$3
CONF
}
# Node A from $T/a.conf as the test's daemon, node B from $T/b.conf beside it;
# their logs in $T/a.log and $T/b.log. Returns once both are ready.
start_nodes() {
	start_daemon "$T/a.conf"
	mv "$T/daemon.log" "$T/a.log"
	"$PBXGUARD" serve -c "$T/b.conf" >"$T/b.log" 2>&1 &
	B_PID=$!
	at_exit "kill -TERM $B_PID"
	for _ in $(seq 1 100); do
		grep -q "pbxguard ready" "$T/b.log" && return 0
		sleep 0.05
	done
	fail "node B did not become ready: $(tail -5 "$T/b.log")"
}
# Both nodes' logs hold this line (a fixed string) within 5 s, or the test fails.
nodes_say() {
	local n
	for n in a b; do
		for _ in $(seq 1 100); do
			grep -qF -- "$1" "$T/$n.log" && continue 2
			sleep 0.05
		done
		fail "node $n did not log '$1': $(grep 'state:' "$T/$n.log" | tail -5)"
	done
}
# Both stopped cleanly, with no sanitizer report in either log.
stop_nodes() {
	kill -TERM "$B_PID"
	wait "$B_PID" || fail "B exited with $?"
	grep -qE "AddressSanitizer|LeakSanitizer|runtime error:" "$T/b.log" && fail "sanitizer report in B's log"
	mv "$T/a.log" "$T/daemon.log"
	stop_daemon
}
