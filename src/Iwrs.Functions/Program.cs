using Iwrs.Functions;
using Iwrs.Functions.Hosting;
using Microsoft.Azure.Functions.Worker.Builder;

// The Functions app on the isolated worker. Everything it registers is in AddIwrs, which the local host calls too.
var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.UseIwrsMiddleware();

// Request URLs of outgoing calls (Twilio's carries the account SID) stay out of the log below Warning.
builder.Logging.AddFilter("System.Net.Http.HttpClient", LogLevel.Warning);
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
builder.Services.AddIwrs(builder.Configuration);
builder.Build().Run();
