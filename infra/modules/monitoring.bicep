// Application Insights on a Log Analytics workspace. Local (instrumentation key) authentication is off: telemetry is
// accepted only with an Entra token of an identity holding Monitoring Metrics Publisher on the component.

param workspaceName string
param applicationInsightsName string
param location string
param tags object

@description('Days the workspace keeps logs (30 is included in the ingestion price).')
param retentionInDays int = 30

resource workspace 'Microsoft.OperationalInsights/workspaces@2025-02-01' = {
  name: workspaceName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    DisableLocalAuth: true
  }
}

output name string = insights.name
output id string = insights.id
