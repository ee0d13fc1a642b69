using Iwrs.Functions;
using Iwrs.Functions.Hosting;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Builder;

// The Functions app on the isolated worker. Everything it registers is in AddIwrs, which the local host calls too.
var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.UseIwrsMiddleware();

// Request URLs of outgoing calls (Twilio's carries the account SID) stay out of the log below Warning.
builder.Logging.AddFilter("System.Net.Http.HttpClient", LogLevel.Warning);
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
builder.Services.AddIwrs(builder.Configuration);

// Telemetry from the worker straight to Application Insights. ConfigureFunctionsApplicationInsights signs it with the
// managed identity named in APPLICATIONINSIGHTS_AUTHENTICATION_STRING (the component accepts no key alone). Dependency
// tracking is off: it would record every storage and Twilio request URL, which carry row keys and filters.
builder.Services
    .AddApplicationInsightsTelemetryWorkerService(o => o.EnableDependencyTrackingTelemetryModule = false)
    .ConfigureFunctionsApplicationInsights();
builder.Build().Run();
