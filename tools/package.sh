#!/usr/bin/env bash
# Builds the package the Flex Consumption plan runs: src/Iwrs.Functions published framework-dependent for linux-x64
# (host.json, functions.metadata, worker.config.json, the extensions in .azurefunctions/), zipped. Nothing local:
# no local.settings.json, no development settings. Deploy it with
#   az functionapp deployment source config-zip -g <group> -n <app> --src <zip>
# Usage: tools/package.sh [zip]   (default artifacts/iwrs-functions.zip; IWRS_BUILD_DIR sets where it builds)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
zip="$(realpath -m "${1:-$root/artifacts/iwrs-functions.zip}")"
build="$(realpath -m "${IWRS_BUILD_DIR:-$root/artifacts/build}")"
mkdir -p "$(dirname "$zip")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# Its own artifacts path: the publish for linux-x64 never touches the bin/ and obj/ folders the tests build in.
rm -rf "$build/publish"
dotnet publish "$root/src/Iwrs.Functions/Iwrs.Functions.csproj" -c Release -r linux-x64 --self-contained false \
  --artifacts-path "$build" -p:IwrsPackage="$zip" --nologo
