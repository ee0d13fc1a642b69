// The web app (src/Iwrs.Web, Blazor WebAssembly): static files on Azure Static Web Apps. No linked backend: the
// browser calls the Function App's own host with bearer tokens, which the app's CORS setting allows for this site's
// origin only (README, Deployment: web app).
param name string

@description('Static Web Apps hosts its resource in a few regions only; the files are served from its global edge.')
param location string

param tags object

@allowed(['Free', 'Standard'])
param sku string

resource site 'Microsoft.Web/staticSites@2024-11-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'web' })
  sku: {
    name: sku
    tier: sku
  }
  properties: {
    // Pull-request preview environments would be more public copies of the app: none.
    stagingEnvironmentPolicy: 'Disabled'
    allowConfigFileUpdates: true
  }
}

output name string = site.name
output url string = 'https://${site.properties.defaultHostname}'
