#!/usr/bin/env bash
# The web door under wrk: requests per second on an authenticated page over
# HTTPS with a bcrypt (cost 10) user, pbxguard beside Apache httpd
# (mod_auth_basic, the same htpasswd file, the same certificate, the same
# page size) in the same run. Four runs: pbxguard with its credential cache
# and without it (AuthnCacheTimeout = 0: a bcrypt per request, on its two
# worker threads), Apache with mod_authn_file alone (a bcrypt per request)
# and with mod_authn_socache in front (Apache's own cache, which keeps the
# stored hash, not the verified credential: bcrypt still runs per request).
# Usage: bench/web.sh PBXGUARD [SECONDS]
set -euo pipefail
BIN=$(readlink -f "${1:?pbxguard binary}")
SECS=${2:-8}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d /tmp/pbxguard-bench-web.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	[ -f "$T/apache.pid" ] && kill "$(cat "$T/apache.pid")" 2>/dev/null || true
	sleep 0.3
	rm -rf "$T"
}
trap cleanup EXIT
P=16443 A=16444
for t in wrk htpasswd apache2; do
	command -v $t >/dev/null || [ -x /usr/sbin/$t ] || { echo "web.sh: $t is missing (scripts/deps.sh installs it)" >&2; exit 1; }
done

# Apache's children run as www-data and read the file per request.
chmod 755 "$T"
htpasswd -cbB -C 10 "$T/htpasswd" bench "Bench-Pass-1" 2>/dev/null
chmod 644 "$T/htpasswd"
printf 'version:1\n' >"$T/userdb"
AUTH="Authorization: Basic $(printf 'bench:Bench-Pass-1' | base64)"

pbx_conf() { # $1: AuthnCacheTimeout
	cat >"$T/pbxguard.conf" <<CONF
[global]
statedir = $T
log-level = warning
[module::Authentication]
file-path = $T/userdb
[bans]
nftables = no
; wrk's connections are the bench, not a flood
ignoreip = 127.0.0.1
[http]
listen = https:127.0.0.1:$P
AuthUserFile = $T/htpasswd
AuthnCacheTimeout = $1
CONF
}

# wrk on URL: requests per second.
rps() {
	wrk -t1 -c16 -d"${SECS}s" -H "$AUTH" "$1" >"$T/wrk.out" 2>&1
	grep -q 'Non-2xx' "$T/wrk.out" && { cat "$T/wrk.out" >&2; echo "web.sh: errors from $1" >&2; exit 1; }
	awk '/^Requests\/sec:/ {print $2}' "$T/wrk.out"
}

run_pbx() { # $1: cache timeout
	pbx_conf "$1"
	"$BIN" serve -c "$T/pbxguard.conf" >"$T/pbx.log" 2>&1 &
	local pid=$!
	PIDS+=("$pid")
	for _ in $(seq 1 100); do grep -q "pbxguard ready" "$T/pbx.log" && break; sleep 0.05; done
	curl -sk -o /dev/null -H "$AUTH" "https://127.0.0.1:$P/pbxguard/" # the cache's first login
	PBX_RPS=$(rps "https://127.0.0.1:$P/pbxguard/")
	PBX_RSS=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
	kill "$pid"
	wait "$pid" 2>/dev/null || true
}

run_pbx 300
pbx_cache=$PBX_RPS pbx_rss=$PBX_RSS
run_pbx 0
pbx_nocache=$PBX_RPS
chmod 644 "$T/tls/key.pem" # Apache reads it as root, but keep it simple

mkdir -p "$T/www/nocache" "$T/www/socache"
# The same bytes pbxguard serves at /pbxguard/.
cp "$ROOT/src/http/assets/index.html" "$T/www/nocache/index.html"
cp "$ROOT/src/http/assets/index.html" "$T/www/socache/index.html"
M=/usr/lib/apache2/modules
cat >"$T/apache.conf" <<CONF
ServerRoot $T
ServerName localhost
Listen 127.0.0.1:$A
PidFile $T/apache.pid
ErrorLog $T/apache-error.log
LogLevel warn
User www-data
Group www-data
LoadModule mpm_event_module $M/mod_mpm_event.so
LoadModule authn_core_module $M/mod_authn_core.so
LoadModule authn_file_module $M/mod_authn_file.so
LoadModule authn_socache_module $M/mod_authn_socache.so
LoadModule auth_basic_module $M/mod_auth_basic.so
LoadModule authz_core_module $M/mod_authz_core.so
LoadModule authz_user_module $M/mod_authz_user.so
LoadModule socache_shmcb_module $M/mod_socache_shmcb.so
LoadModule ssl_module $M/mod_ssl.so
LoadModule dir_module $M/mod_dir.so
LoadModule mime_module $M/mod_mime.so
TypesConfig /etc/mime.types
DirectoryIndex index.html
DocumentRoot $T/www
SSLEngine on
SSLCertificateFile $T/tls/cert.pem
SSLCertificateKeyFile $T/tls/key.pem
SSLSessionCache none
AuthnCacheSOCache shmcb
<Location /nocache/>
  AuthType Basic
  AuthName "bench"
  AuthBasicProvider file
  AuthUserFile $T/htpasswd
  Require valid-user
</Location>
<Location /socache/>
  AuthType Basic
  AuthName "bench"
  AuthBasicProvider socache file
  AuthnCacheProvideFor file
  AuthnCacheTimeout 300
  AuthUserFile $T/htpasswd
  Require valid-user
</Location>
CONF
/usr/sbin/apache2 -f "$T/apache.conf" -k start
for _ in $(seq 1 100); do [ -s "$T/apache.pid" ] && break; sleep 0.05; done
sleep 0.5
code=$(curl -sk -o /dev/null -w '%{http_code}' -H "$AUTH" "https://127.0.0.1:$A/nocache/")
[ "$code" = 200 ] || { cat "$T/apache-error.log" >&2; echo "web.sh: Apache answered $code" >&2; exit 1; }
curl -sk -o /dev/null -H "$AUTH" "https://127.0.0.1:$A/socache/"
ap_nocache=$(rps "https://127.0.0.1:$A/nocache/")
ap_socache=$(rps "https://127.0.0.1:$A/socache/")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "web: wrk -t1 -c16 ${SECS}s over HTTPS, Basic with bcrypt cost 10, same file and certificate"
echo "web: pbxguard with its cache      $pbx_cache req/s  (peak RSS $((pbx_rss / 1024)) MB)"
echo "web: pbxguard without a cache     $pbx_nocache req/s"
echo "web: Apache mod_authn_file        $ap_nocache req/s"
echo "web: Apache mod_authn_socache     $ap_socache req/s"
echo "web: ratios: pbxguard cached / Apache file = $(ratio "$pbx_cache" "$ap_nocache"); " \
	"pbxguard uncached / Apache file = $(ratio "$pbx_nocache" "$ap_nocache"); " \
	"pbxguard cached / Apache socache = $(ratio "$pbx_cache" "$ap_socache")"
