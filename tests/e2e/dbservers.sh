# PostgreSQL, MariaDB and Redis servers of our own, on loopback, in $T,
# stopped at exit. Needs T, fail and at_exit (tests/e2e/lib.sh has them; the SQL
# benchmark defines its own).

# PostgreSQL on 127.0.0.1:$1, data in $T/pg, password authentication (scram)
# for role pbxguard (password in $PG_PASS) owning database pbx. psql_run
# runs SQL as the superuser over the socket. Exits 77 without the binaries.
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
PG_PASS="pg pass'word"
start_postgres() {
	local port=$1
	[ -x "$PG_BIN/initdb" ] || { echo "skip: no PostgreSQL server binaries"; exit 77; }
	chmod 711 "$T"
	mkdir -p "$T/pg" && chown postgres "$T/pg"
	echo "super" >"$T/pg/pw" && chown postgres "$T/pg/pw"
	runuser -u postgres -- "$PG_BIN/initdb" -D "$T/pg/data" -U postgres -A scram-sha-256 \
		--pwfile="$T/pg/pw" >"$T/pg/initdb.log" 2>&1 || fail "initdb: $(tail -3 "$T/pg/initdb.log")"
	# Local socket connections trusted for the superuser's setup; TCP needs the password.
	sed -i 's/^local\(.*\)scram-sha-256/local\1trust/' "$T/pg/data/pg_hba.conf"
	PG_PORT=$port
	pg_ctl_run start
	# Not pg_ctl_run: at exit the server may be down already, and a fail
	# there would end the cleanup before the daemon is stopped.
	at_exit "runuser -u postgres -- $PG_BIN/pg_ctl -D $T/pg/data -m fast -w stop"
	psql_run "CREATE ROLE pbxguard LOGIN PASSWORD '${PG_PASS//\'/\'\'}'"
	psql_run "CREATE DATABASE pbx OWNER pbxguard"
}
pg_ctl_run() {
	local extra=()
	[ "$1" = stop ] && extra=(-m fast)
	runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$T/pg/data" -l "$T/pg/log" -w "${extra[@]}" \
		-o "-p $PG_PORT -k $T/pg -c listen_addresses=127.0.0.1" "$1" >/dev/null ||
		fail "pg_ctl $1: $(tail -3 "$T/pg/log")"
}
psql_run() { # SQL on stdin or $1, in database ${PGDB:-postgres}
	runuser -u postgres -- psql -q -X -v ON_ERROR_STOP=1 -h "$T/pg" -p "$PG_PORT" \
		-d "${PGDB:-postgres}" ${1:+-c "$1"} >/dev/null
}

# MariaDB on 127.0.0.1:$1, data in $T/my; user pbxguard (password $MY_PASS)
# on database pbx. my_run runs SQL as root over the socket.
MY_PASS="my pass'word"
start_mariadb() {
	local port=$1
	command -v mariadbd >/dev/null || { echo "skip: no MariaDB server"; exit 77; }
	mkdir -p "$T/my"
	mariadb-install-db --no-defaults --datadir="$T/my/data" --user=root \
		--auth-root-authentication-method=socket --skip-test-db >"$T/my/install.log" 2>&1 ||
		fail "mariadb-install-db: $(tail -3 "$T/my/install.log")"
	MY_PORT=$port
	mariadb_up
	at_exit "mariadb_down"
	my_run "CREATE DATABASE pbx; CREATE USER 'pbxguard'@'127.0.0.1' IDENTIFIED BY '${MY_PASS//\'/\'\'}';
		GRANT SELECT ON pbx.* TO 'pbxguard'@'127.0.0.1';"
}
mariadb_up() {
	mariadbd --no-defaults --datadir="$T/my/data" --socket="$T/my/sock" --port="$MY_PORT" \
		--bind-address=127.0.0.1 --user=root --pid-file="$T/my/pid" --log-error="$T/my/err.log" \
		--skip-log-bin --innodb-buffer-pool-size=16M --skip-name-resolve >/dev/null 2>&1 &
	MY_PID=$!
	for _ in $(seq 1 100); do
		mariadb --no-defaults -S "$T/my/sock" -u root -e 'select 1' >/dev/null 2>&1 && return 0
		kill -0 $MY_PID 2>/dev/null || fail "mariadbd exited: $(tail -3 "$T/my/err.log")"
		sleep 0.1
	done
	fail "mariadbd did not start"
}
mariadb_down() {
	kill -TERM "$MY_PID" 2>/dev/null || true
	wait "$MY_PID" 2>/dev/null || true
}
my_run() { mariadb --no-defaults -S "$T/my/sock" -u root ${1:+-e "$1"}; }

# Redis on 127.0.0.1:$1, nothing saved; stop_redis / start_redis again for
# an outage (same port). Exits 77 without redis-server.
start_redis() {
	REDIS_PORT=$1
	command -v redis-server >/dev/null || { echo "skip: no redis-server"; exit 77; }
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
		--dir "$T" >"$T/redis.log" 2>&1 &
	REDIS_PID=$!
	[ -n "${REDIS_AT_EXIT:-}" ] || { at_exit stop_redis; REDIS_AT_EXIT=1; }
	for _ in $(seq 1 50); do
		redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fail "redis-server did not start: $(tail -3 "$T/redis.log")"
}
stop_redis() {
	kill -TERM "$REDIS_PID" 2>/dev/null || true
	wait "$REDIS_PID" 2>/dev/null || true
}
