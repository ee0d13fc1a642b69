using Iwrs.Functions;
using Iwrs.Functions.Hosting;
using Microsoft.Azure.Functions.Worker.Builder;

// The Functions app on the isolated worker. Everything it registers is in AddIwrs, which the local host calls too.
var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.UseIwrsMiddleware();
builder.Services.AddIwrs(builder.Configuration);
builder.Build().Run();
