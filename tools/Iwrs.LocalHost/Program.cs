using Iwrs.LocalHost;

// Serves the Functions app's functions locally: `dotnet run --project tools/Iwrs.LocalHost` with settings from
// appsettings, environment variables or the command line. The launcher (tools/Iwrs.Local) adds Azurite and the seeds.
var app = LocalFunctionsHost.Build(args);
await app.RunAsync();
