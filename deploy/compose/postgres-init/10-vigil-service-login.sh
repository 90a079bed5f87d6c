#!/bin/sh
# First start of the compose PostgreSQL only (docker-entrypoint-initdb.d): the login the
# `vigil serve` replicas use. It is a member of the service role that `vigil migrate` grants
# (vigil_service: insert/select, never update/delete of decisions), so the service runs with
# least privilege while migrate runs as the owner. migrate keeps an existing vigil_service.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v service_password="$VIGIL_PG_SERVICE_PASSWORD" <<'SQL'
CREATE ROLE vigil_service NOLOGIN;
CREATE ROLE vigil_app LOGIN PASSWORD :'service_password' IN ROLE vigil_service;
SQL
