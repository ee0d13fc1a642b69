#!/bin/sh
# azd's prebuild hook of the `web` service (azure.yaml), run in src/Iwrs.Web before `swa build` publishes it
# (swa-cli.config.json). azd gives hooks its environment's values as environment variables; WEB_APPSETTINGS is the
# deployment's output of that name (infra/main.bicep), the web app's settings as JSON. Written here, under obj/, the
# publish puts it in the published wwwroot as appsettings.json (-p:IwrsAppSettings, Iwrs.Web.csproj): the
# repository's development appsettings.json is never overwritten, so no deployment's values can be committed.
# The previous publish output goes first: `dotnet publish -o` only adds files, and what is left would be uploaded.
set -eu

if [ -z "${WEB_APPSETTINGS:-}" ]; then
  echo "web-settings: WEB_APPSETTINGS is not set in the azd environment; provision first (azd provision)." >&2
  exit 1
fi

rm -rf bin/azd
mkdir -p obj/azd
printf '%s' "$WEB_APPSETTINGS" > obj/azd/appsettings.json
echo "web-settings: obj/azd/appsettings.json from WEB_APPSETTINGS"
