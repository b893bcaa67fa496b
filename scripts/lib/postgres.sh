# Sourced by scripts/test: makes a local PostgreSQL available for the tests and exports
# JUSTIAM_TEST_POSTGRES_URL (a role allowed to create one database per test).
#
# On a fresh Debian machine (as root) it installs PostgreSQL, starts the cluster if it is down,
# creates the role, and drops databases left over by earlier runs.

justiam_postgres_setup() {
  if [ -n "${JUSTIAM_TEST_POSTGRES_URL:-}" ]; then
    echo "postgres: using JUSTIAM_TEST_POSTGRES_URL from the environment"
    return 0
  fi
  if ! command -v pg_lsclusters >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "postgres: not installed; installing Debian's postgresql"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null \
        || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null; }
    else
      echo "postgres: not installed and cannot install it (need root and apt-get)"
      return 1
    fi
  fi
  local line version cluster port status
  line=$(pg_lsclusters -h | head -n 1)
  if [ -z "$line" ]; then
    version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
    echo "postgres: no cluster; creating $version/main"
    pg_createcluster "$version" main >/dev/null
    line=$(pg_lsclusters -h | head -n 1)
  fi
  read -r version cluster port status _ <<<"$line"
  if [ "$status" != "online" ]; then
    echo "postgres: starting cluster $version/$cluster on port $port"
    pg_ctlcluster "$version" "$cluster" start
  fi
  local psql=(psql -X -q -v ON_ERROR_STOP=1 -p "$port" -d postgres)
  if [ "$(id -u)" = 0 ]; then psql=(runuser -u postgres -- "${psql[@]}"); fi
  for _ in $(seq 1 30); do
    "${psql[@]}" -c 'SELECT 1' >/dev/null 2>&1 && break
    sleep 0.5
  done
  "${psql[@]}" <<'SQL'
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'justiam_test') THEN
    CREATE ROLE justiam_test LOGIN CREATEDB PASSWORD 'justiam_test';
  END IF;
END $$;
SQL
  # Databases of earlier runs (one per test, named jt_<uuid v7>): dropped in one psql session once
  # they are more than an hour old (the uuid's first 48 bits are its creation time in ms), so a run
  # never pulls the database from under another run that is still going.
  "${psql[@]}" -At <<'SQL' | "${psql[@]}" >/dev/null
SELECT format('DROP DATABASE IF EXISTS %I WITH (FORCE);', datname)
FROM pg_database
WHERE datname ~ '^jt_[0-9a-f]{32}$'
  AND ('x' || substr(datname, 4, 12))::bit(48)::bigint < (extract(epoch FROM now()) * 1000)::bigint - 3600000;
SQL
  export JUSTIAM_TEST_POSTGRES_URL="postgres://justiam_test:justiam_test@127.0.0.1:$port/postgres"
  echo "postgres: ready on port $port"
}
