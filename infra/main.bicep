// Iwrs in one environment: a resource group holding the Flex Consumption Function App, its storage account, Key Vault
// and Application Insights, reached only by the app's user-assigned managed identity. `azd up` or
// `az deployment sub create` (README, Deployment).
targetScope = 'subscription'

@minLength(1)
@maxLength(20)
@description('Environment name (azd: AZURE_ENV_NAME), e.g. lj-mcrc-prod. Part of every resource name.')
param environmentName string

@minLength(1)
@description('Azure region with Flex Consumption (az functionapp list-flexconsumption-locations).')
param location string

@description('Resource group to create; default rg-{environmentName}.')
param resourceGroupName string = ''

@description('Entra tenant that issues the API\'s tokens; default the deployment\'s tenant.')
param tenantId string = tenant().tenantId

@minLength(1)
@description('Audience of the API\'s tokens: the app registration\'s client id or Application ID URI (Auth__Audience).')
param apiAudience string

@description('Entra object ids of the first administrators (Auth__BootstrapAdministrators__N).')
param bootstrapAdministrators string[] = []

@description('Twilio account SID (AC + 32 hex digits). Not a secret: the auth token is in Key Vault.')
param twilioAccountSid string

@description('Twilio sending number (E.164) or alphanumeric sender id.')
param twilioFrom string

@minValue(1)
@maxValue(1000)
@description('Most instances the app scales out to.')
param maximumInstanceCount int = 40

@allowed([512, 2048, 4096])
@description('Memory of one instance, in MB.')
param instanceMemoryMB int = 2048

@minValue(1)
@maxValue(146000)
@description('Days a signed audit checkpoint cannot be changed or deleted (default 25 years, the EU CTR archive period).')
param auditCheckpointRetentionDays int = 9125

@description('NCRONTAB of the ResupplyCheck timer.')
param resupplySchedule string = '0 0 * * * *'

@description('NCRONTAB of the NotificationDispatch timer.')
param notificationSchedule string = '*/30 * * * * *'

@description('NCRONTAB of the audit checkpoint timer.')
param auditCheckpointSchedule string = '0 0 * * * *'

@allowed(['centralus', 'eastus2', 'eastasia', 'westeurope', 'westus2'])
@description('Region of the Static Web App serving the web app (the regions that host the resource; files are served from its global edge).')
param webLocation string = 'westeurope'

@allowed(['Free', 'Standard'])
@description('Static Web Apps plan of the web app: Standard (SLA, more custom domains) or Free (trials).')
param webSku string = 'Standard'

@description('The web app\'s own app registration (single-page application, redirect URI {WEB_URL}/authentication/login-callback): its client id. Empty until it exists.')
param webClientId string = ''

@description('The API scope the web app asks for, e.g. api://{API client id}/access_as_user. Empty: the audience\'s default scope.')
param webApiScope string = ''

@description('Object id of the person deploying (azd: AZURE_PRINCIPAL_ID): given Key Vault Secrets Officer to create the two secrets. Empty: none.')
param deployerPrincipalId string = ''

var tags = { 'azd-env-name': environmentName }
var token = toLower(uniqueString(subscription().id, environmentName, location))
// Storage account and Key Vault names are global, at most 24 characters: letters and digits only, so a cut never
// ends on a dash.
var compactName = replace(toLower(environmentName), '-', '')
var names = {
  resourceGroup: empty(resourceGroupName) ? 'rg-${environmentName}' : resourceGroupName
  storage: take('st${compactName}${token}', 24)
  keyVault: take('kv${compactName}${token}', 24)
  workspace: 'log-${environmentName}-${token}'
  insights: 'appi-${environmentName}-${token}'
  identity: 'id-${environmentName}-${token}'
  plan: 'plan-${environmentName}-${token}'
  app: 'func-${environmentName}-${token}'
  web: 'stapp-${environmentName}-${token}'
}
var deploymentContainerName = 'app-package'
var auditCheckpointContainerName = 'audit-checkpoints'
var tableName = 'iwrs'

resource rg 'Microsoft.Resources/resourceGroups@2024-11-01' = {
  name: names.resourceGroup
  location: location
  tags: tags
}

module storage 'modules/storage.bicep' = {
  scope: rg
  params: {
    name: names.storage
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    auditCheckpointContainerName: auditCheckpointContainerName
    auditCheckpointRetentionDays: auditCheckpointRetentionDays
    tableName: tableName
  }
}

module keyVault 'modules/keyvault.bicep' = {
  scope: rg
  params: {
    name: names.keyVault
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  scope: rg
  params: {
    workspaceName: names.workspace
    applicationInsightsName: names.insights
    location: location
    tags: tags
  }
}

module web 'modules/web.bicep' = {
  scope: rg
  params: {
    name: names.web
    location: webLocation
    tags: tags
    sku: webSku
  }
}

module app 'modules/app.bicep' = {
  scope: rg
  params: {
    location: location
    tags: tags
    identityName: names.identity
    planName: names.plan
    appName: names.app
    storageAccountName: names.storage
    keyVaultName: names.keyVault
    applicationInsightsName: names.insights
    deploymentContainerName: deploymentContainerName
    auditCheckpointContainerName: auditCheckpointContainerName
    tableName: tableName
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    tenantId: tenantId
    apiAudience: apiAudience
    bootstrapAdministrators: bootstrapAdministrators
    twilioAccountSid: twilioAccountSid
    twilioFrom: twilioFrom
    resupplySchedule: resupplySchedule
    notificationSchedule: notificationSchedule
    auditCheckpointSchedule: auditCheckpointSchedule
    allowedOrigins: [web.outputs.url]
  }
  dependsOn: [
    storage
    keyVault
    monitoring
  ]
}

module deployer 'modules/deployer.bicep' = if (!empty(deployerPrincipalId)) {
  scope: rg
  params: {
    keyVaultName: names.keyVault
    principalId: deployerPrincipalId
  }
  dependsOn: [
    keyVault
  ]
}

output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = app.outputs.name
output AZURE_KEY_VAULT_NAME string = names.keyVault
output AZURE_STORAGE_ACCOUNT_NAME string = names.storage
@description('The API root: {appUrl}/api.')
output APP_URL string = app.outputs.url
@description('Twilio number > Messaging > "A message comes in" webhook (POST).')
output SMS_WEBHOOK_URL string = '${app.outputs.url}/api/sms/inbound'
output SMS_STATUS_CALLBACK_URL string = '${app.outputs.url}/api/sms/status'
@description('The web app (Static Web App).')
output WEB_URL string = web.outputs.url
output AZURE_STATIC_WEB_APP_NAME string = web.outputs.name
@description('The web app\'s wwwroot/appsettings.json for this deployment: the API root and the Entra sign-in (authorization code + PKCE).')
output WEB_APPSETTINGS object = {
  Api: { BaseUrl: app.outputs.url }
  Oidc: {
    Authority: '${environment().authentication.loginEndpoint}${tenantId}/v2.0'
    ClientId: webClientId
    ApiScope: empty(webApiScope) ? '${apiAudience}/.default' : webApiScope
  }
}
