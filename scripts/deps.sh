#!/bin/sh
# Install the Debian packages pbxguard builds and tests with. Idempotent:
# asks apt only for what is missing, so a second run costs a dpkg query.
set -eu

BUILD="meson ninja-build pkg-config gcc libc6-dev libssl-dev libevent-dev libinih-dev libnftables-dev libpcre2-dev libcrypt-dev libzxcvbn-dev john-data libpq-dev libmariadb-dev libsqlite3-dev libhiredis-dev"
TEST="libcmocka-dev clang libclang-rt-14-dev openssh-server openssh-client postgresql mariadb-server redis-server sip-tester sipvicious linphone-cli fail2ban python3 openssl iproute2 nftables stunnel4 sslscan nodejs apache2-utils apache2 curl wrk chromium prometheus iaxmodem"

missing=""
for p in $BUILD ${PBXGUARD_DEPS_TEST:-$TEST}; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
# A real npm AMI client runs in the tests: npm comes with Debian's package
# of that name, or inside a nodejs from elsewhere (NodeSource's has it).
case " ${PBXGUARD_DEPS_TEST:-$TEST} " in
*" nodejs "*) command -v npm >/dev/null 2>&1 || missing="$missing npm" ;;
esac
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages:$missing" >&2
	echo "deps.sh: run as root (or: sudo apt-get install$missing)" >&2
	exit 1
fi
echo "deps.sh: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# fail2ban comes for fail2ban-regex; if its service starts, its default
# jails ignore 127.0.0.1/8 and ::1, the only addresses the tests use.
# openssh-server, postgresql, mariadb-server and redis-server come for
# their binaries only (the tests run their own servers on test ports, in
# temporary directories): no service may start on a real port because the
# tests needed it, so services stay stopped during this install (Debian's
# policy-rc.d).
guard=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	guard=1
fi
rc=0
apt-get install -y -qq --no-install-recommends $missing >/dev/null || rc=$?
[ -n "$guard" ] && rm -f /usr/sbin/policy-rc.d
exit $rc
