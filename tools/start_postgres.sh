#!/usr/bin/env bash
# Install (Debian) and start a local PostgreSQL for the hub's PostgreSQL tests; print the URL to use.
# Idempotent: safe to run when it is already installed or running. Needs root (or sudo).
set -euo pipefail
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "installing Debian postgresql" >&2
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi
VERSION="$(ls /etc/postgresql | sort -V | tail -1)"
if ! pg_lsclusters -h | awk -v v="$VERSION" '$1 == v && $2 == "main" && $4 == "online" {found=1} END {exit !found}'; then
  $SUDO pg_ctlcluster "$VERSION" main start --skip-systemctl-redirect >&2
fi
PORT="$(pg_lsclusters -h | awk -v v="$VERSION" '$1 == v && $2 == "main" {print $3}')"
psql_as_postgres() { $SUDO -u postgres psql -p "$PORT" -v ON_ERROR_STOP=1 -qAt "$@"; }
if [ "$(id -u)" = 0 ]; then psql_as_postgres() { su postgres -c "psql -p $PORT -v ON_ERROR_STOP=1 -qAt $(printf '%q ' "$@")"; }; fi
psql_as_postgres -c "SELECT 1 FROM pg_roles WHERE rolname = 'passerelle'" | grep -q 1 \
  || psql_as_postgres -c "CREATE ROLE passerelle LOGIN PASSWORD 'passerelle' CREATEDB"
psql_as_postgres -c "SELECT 1 FROM pg_database WHERE datname = 'passerelle_test'" | grep -q 1 \
  || psql_as_postgres -c "CREATE DATABASE passerelle_test OWNER passerelle"
# Tests drop their databases: let the role end a stray backend (an autovacuum worker attached to one).
psql_as_postgres -c "GRANT pg_signal_backend TO passerelle" >/dev/null
echo "postgresql://passerelle:passerelle@127.0.0.1:${PORT}/passerelle_test"
