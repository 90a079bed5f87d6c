#!/bin/sh
# First start of the compose PostgreSQL only (docker-entrypoint-initdb.d): the login the
# `vigil serve` replicas use. It is a member of the service role that `vigil migrate` grants
# (vigil_service: insert/select, never update/delete of decisions), so the service runs with
# least privilege while migrate runs as the owner. migrate keeps an existing service role.
# VIGIL_SERVICE_ROLE and VIGIL_SERVICE_LOGIN change the names (the integration test does).
set -eu
psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v service_role="${VIGIL_SERVICE_ROLE:-vigil_service}" \
    -v service_login="${VIGIL_SERVICE_LOGIN:-vigil_app}" \
    -v service_password="$VIGIL_PG_SERVICE_PASSWORD" <<'SQL'
CREATE ROLE :"service_role" NOLOGIN;
CREATE ROLE :"service_login" LOGIN PASSWORD :'service_password' IN ROLE :"service_role";
SQL
