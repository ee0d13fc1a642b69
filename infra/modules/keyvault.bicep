// Key Vault for the app's two secrets (twilio-auth-token, audit-signing-key), created by the operator after the
// first deployment (README, Deployment). RBAC mode: access is granted by role assignments, never access policies.

@description('Key Vault name (3-24 letters, digits and dashes).')
param name string

param location string
param tags object

resource vault 'Microsoft.KeyVault/vaults@2024-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
  }
}

output name string = vault.name
output id string = vault.id
