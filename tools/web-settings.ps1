# The Windows twin of tools/web-settings.sh (azd's prebuild hook of the `web` service): the deployment's
# WEB_APPSETTINGS to obj/azd/appsettings.json, the previous publish output removed. Run in src/Iwrs.Web.
# Not run in this repository's tests (they run the sh script; no PowerShell there).
$ErrorActionPreference = 'Stop'

if ([string]::IsNullOrEmpty($env:WEB_APPSETTINGS)) {
    [Console]::Error.WriteLine('web-settings: WEB_APPSETTINGS is not set in the azd environment; provision first (azd provision).')
    exit 1
}

if (Test-Path bin/azd) { Remove-Item -Recurse -Force bin/azd }
New-Item -ItemType Directory -Force obj/azd | Out-Null
# UTF-8 without a byte order mark, nothing added: the value exactly.
[System.IO.File]::WriteAllText((Join-Path (Get-Location) 'obj/azd/appsettings.json'), $env:WEB_APPSETTINGS)
Write-Output 'web-settings: obj/azd/appsettings.json from WEB_APPSETTINGS'
