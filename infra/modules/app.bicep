// The Function App on the Flex Consumption plan and the one identity it uses for everything: the host's storage,
// the package, the Iwrs table, the audit checkpoints, the Key Vault references and Application Insights.

param location string
param tags object
param identityName string
param planName string
param appName string

@description('Names of the resources the identity is given data roles on (created by the sibling modules).')
param storageAccountName string
param keyVaultName string
param applicationInsightsName string

param deploymentContainerName string
param auditCheckpointContainerName string
param tableName string

@minValue(1)
@maxValue(1000)
param maximumInstanceCount int

@allowed([512, 2048, 4096])
param instanceMemoryMB int

param tenantId string
param apiAudience string
param bootstrapAdministrators string[]
param twilioAccountSid string
param twilioFrom string
param resupplySchedule string
param notificationSchedule string
param auditCheckpointSchedule string

@description('Origins allowed to call the API from a browser (the web app\'s Static Web App).')
param allowedOrigins string[]

// Built-in role definitions (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles).
var roles = {
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: identityName
  location: location
  tags: tags
}

resource storage 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: storageAccountName
}

resource vault 'Microsoft.KeyVault/vaults@2024-11-01' existing = {
  name: keyVaultName
}

resource insights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// The Iwrs table (Storage__AccountEndpoint).
resource tableData 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, roles.storageTableDataContributor)
  scope: storage
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
  }
}

// The host's blobs (timer leases, keys), the deployment package and the audit checkpoints.
resource blobData 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, roles.storageBlobDataOwner)
  scope: storage
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
  }
}

// Reads twilio-auth-token and audit-signing-key through the app settings' Key Vault references.
resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, identity.id, roles.keyVaultSecretsUser)
  scope: vault
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
  }
}

// Sends telemetry with an Entra token (the component's local authentication is off).
resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(insights.id, identity.id, roles.monitoringMetricsPublisher)
  scope: insights
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
  }
}

resource plan 'Microsoft.Web/serverfarms@2024-11-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

var blobEndpoint = 'https://${storageAccountName}.blob.${environment().suffixes.storage}'
var tableEndpoint = 'https://${storageAccountName}.table.${environment().suffixes.storage}'

resource app 'Microsoft.Web/sites@2024-11-01' = {
  name: appName
  location: location
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Key Vault references are resolved with this identity; without it the platform would try a system-assigned one.
    keyVaultReferenceIdentity: identity.id
    siteConfig: {
      minTlsVersion: '1.2'
      http20Enabled: true
      // The web app calls the API cross-origin with a bearer token (no cookies), so no credentials are allowed.
      cors: {
        allowedOrigins: allowedOrigins
        supportCredentials: false
      }
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${blobEndpoint}/${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identity.id
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'dotnet-isolated'
        version: '10.0'
      }
    }
  }
}

// FTP and the SCM site's basic authentication off: deployments go through Entra ID only.
resource ftp 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-11-01' = {
  parent: app
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scm 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-11-01' = {
  parent: app
  name: 'scm'
  properties: {
    allow: false
  }
}

var appUrl = 'https://${app.properties.defaultHostName}'

// Auth__BootstrapAdministrators__0, __1, ... from the parameter's list.
var administrators = toObject(range(0, length(bootstrapAdministrators)), i => 'Auth__BootstrapAdministrators__${i}', i => bootstrapAdministrators[i])

// The settings contract (README, Configuration). Secrets are Key Vault references, resolved by the platform with
// keyVaultReferenceIdentity; FUNCTIONS_WORKER_RUNTIME is not an app setting on Flex Consumption (functionAppConfig.runtime).
resource settings 'Microsoft.Web/sites/config@2024-11-01' = {
  parent: app
  name: 'appsettings'
  properties: union(administrators, {
    AzureWebJobsStorage__accountName: storageAccountName
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identity.properties.clientId
    APPLICATIONINSIGHTS_CONNECTION_STRING: insights.properties.ConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.properties.clientId};Authorization=AAD'
    Storage__AccountEndpoint: tableEndpoint
    Storage__BlobEndpoint: blobEndpoint
    Storage__ManagedIdentityClientId: identity.properties.clientId
    Storage__TableName: tableName
    Twilio__AccountSid: twilioAccountSid
    Twilio__From: twilioFrom
    Twilio__AuthToken: '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=twilio-auth-token)'
    Sms__WebhookUrl: '${appUrl}/api/sms/inbound'
    Sms__StatusCallbackUrl: '${appUrl}/api/sms/status'
    Audit__CheckpointContainer: auditCheckpointContainerName
    Audit__SigningKey: '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=audit-signing-key)'
    ResupplySchedule: resupplySchedule
    NotificationSchedule: notificationSchedule
    AuditCheckpointSchedule: auditCheckpointSchedule
    Auth__Authority: '${environment().authentication.loginEndpoint}${tenantId}/v2.0'
    Auth__Audience: apiAudience
    Auth__Development__Enabled: 'false'
  })
  dependsOn: [
    tableData
    blobData
    secretsUser
    metricsPublisher
  ]
}

output name string = app.name
output url string = appUrl
output identityClientId string = identity.properties.clientId
output identityPrincipalId string = identity.properties.principalId
