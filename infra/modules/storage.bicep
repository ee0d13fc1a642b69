// The storage account: the Iwrs table, the Functions host's own blobs, the deployment package and the audit
// checkpoints. Only Entra ID reaches it: shared keys are off, so no connection string with a key exists.

@description('Storage account name (3-24 lowercase letters and digits).')
param name string

param location string
param tags object

@description('Blob container the Flex Consumption app runs its package from.')
param deploymentContainerName string

@description('Blob container of the signed audit checkpoints (write once, read many).')
param auditCheckpointContainerName string

@description('Days an audit checkpoint blob cannot be changed or deleted after it is written.')
@minValue(1)
@maxValue(146000)
param auditCheckpointRetentionDays int

@description('Table the app keeps every study in (StorageOptions.TableName).')
param tableName string

resource account 'Microsoft.Storage/storageAccounts@2025-01-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource blobs 'Microsoft.Storage/storageAccounts/blobServices@2025-01-01' = {
  parent: account
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-01-01' = {
  parent: blobs
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource auditContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-01-01' = {
  parent: blobs
  name: auditCheckpointContainerName
  properties: {
    publicAccess: 'None'
  }
}

// Time-based retention: a checkpoint cannot be overwritten or deleted until it is this many days old. The policy is
// left unlocked so the retention can still be lengthened or the policy removed; lock it once the value is final
// (README, Deployment).
resource auditRetention 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies@2025-01-01' = {
  parent: auditContainer
  name: 'default'
  properties: {
    immutabilityPeriodSinceCreationInDays: auditCheckpointRetentionDays
    allowProtectedAppendWrites: false
  }
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices@2025-01-01' = {
  parent: account
  name: 'default'
}

resource table 'Microsoft.Storage/storageAccounts/tableServices/tables@2025-01-01' = {
  parent: tables
  name: tableName
}

output name string = account.name
output id string = account.id
