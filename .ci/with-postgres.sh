#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL cluster: initdb into a temp dir, start it on a
# free loopback port, export RAGPREP_TEST_DATABASE_URL, run "$@", stop and delete the cluster
# on any exit. Uses Debian's postgresql binaries (make sysdeps installs them); never the
# system cluster or service.
#   .ci/with-postgres.sh .venv/bin/python -m pytest -m postgres
set -euo pipefail

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [[ -z "$bindir" || ! -x "$bindir/initdb" ]]; then
    echo "with-postgres: no PostgreSQL binaries under /usr/lib/postgresql (run make sysdeps)" >&2
    exit 1
fi

workdir=$(mktemp -d /tmp/ragprep-pg.XXXXXX)
# initdb refuses to run as root: the cluster then belongs to Debian's postgres user.
as_owner=()
if [[ $(id -u) -eq 0 ]]; then
    chown postgres: "$workdir"
    as_owner=(runuser -u postgres --)
fi

stop() {
    "${as_owner[@]}" "$bindir/pg_ctl" -D "$workdir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$workdir"
}
trap stop EXIT
trap 'exit 143' TERM INT HUP  # a killed run still stops and removes its cluster

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${as_owner[@]}" "$bindir/initdb" -D "$workdir/data" -U ragprep --auth=trust -E UTF8 \
    --locale=C.UTF-8 >"$workdir/initdb.log" 2>&1 || { cat "$workdir/initdb.log" >&2; exit 1; }
# Tests create and drop a database each: no fsync needed for a cluster deleted afterwards.
"${as_owner[@]}" "$bindir/pg_ctl" -D "$workdir/data" -l "$workdir/server.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$workdir \
        -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    >/dev/null || { cat "$workdir/server.log" >&2; exit 1; }

export RAGPREP_TEST_DATABASE_URL="postgresql+asyncpg://ragprep@127.0.0.1:$port/postgres"
echo "with-postgres: PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2
"$@"
