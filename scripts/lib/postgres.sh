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
  # Databases of earlier runs (one per test, named jt_<uuid>).
  "${psql[@]}" -At -c "SELECT datname FROM pg_database WHERE datname LIKE 'jt\_%'" | while read -r db; do
    "${psql[@]}" -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null
  done
  export JUSTIAM_TEST_POSTGRES_URL="postgres://justiam_test:justiam_test@127.0.0.1:$port/postgres"
  echo "postgres: ready on port $port"
}
