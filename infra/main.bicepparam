// Example values: copy to {environment}.bicepparam and change them, or let azd fill environmentName and location.
using 'main.bicep'

param environmentName = readEnvironmentVariable('AZURE_ENV_NAME', 'iwrs-demo')
param location = readEnvironmentVariable('AZURE_LOCATION', 'swedencentral')
param deployerPrincipalId = readEnvironmentVariable('AZURE_PRINCIPAL_ID', '')

// The API's app registration (README, Deployment: Entra ID app registration): its application (client) id, which is
// the audience of the v2 access tokens it is issued.
param apiAudience = '00000000-0000-0000-0000-0000000000cc'
param bootstrapAdministrators = [
  '00000000-0000-0000-0000-000000000001'
]

// Twilio: the account SID and sender are plain settings; the auth token goes into Key Vault as twilio-auth-token.
param twilioAccountSid = 'AC00000000000000000000000000000000'
param twilioFrom = '+15550000000'
