#!/usr/bin/env bash
# Adds one EF Core migration to both providers, so their schemas never drift apart.
# usage: ./scripts/add-migration.sh MigrationName
set -euo pipefail
cd "$(dirname "$0")/.."
name="${1:?usage: scripts/add-migration.sh MigrationName}"
dotnet tool restore >/dev/null
for provider in Sqlite Postgres; do
  dotnet ef migrations add "$name" \
    --project src/ConsentHub --startup-project src/ConsentHub \
    --context "${provider}ConsentDb" --output-dir "Data/Migrations/$provider"
done
