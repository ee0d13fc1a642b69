using Iwrs.Functions;
using Iwrs.Functions.Hosting;
using Microsoft.Extensions.Configuration.Memory;

namespace Iwrs.LocalHost;

/// <summary>
/// Builds the local host: the services the Functions app registers (<see cref="IwrsApp.AddIwrs"/>), an endpoint per
/// HTTP function under <c>/api</c>, the timers on their schedules, and the development-only
/// <c>POST /admin/functions/{name}</c> that runs a timer function now, as the Functions host's admin API does.
/// </summary>
public static class LocalFunctionsHost
{
    public const string RunTimersSetting = "Timers:RunLocally";

    /// <summary>The Host header values the local host answers (ASP.NET Core host filtering); any other name gets a 400.</summary>
    public const string LoopbackHosts = "localhost;127.0.0.1;[::1]";

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);

        // Lowest precedence: a setting from anywhere else wins over these defaults.
        // Only loopback names: a web page whose name an attacker rebinds to 127.0.0.1 must not reach /api/dev/token.
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource
        {
            InitialData = TimerSchedules.Defaults.Select(d => KeyValuePair.Create(d.Key, (string?)d.Value)).Append(KeyValuePair.Create("AllowedHosts", (string?)LoopbackHosts)),
        });
        configure?.Invoke(builder);
        builder.Services.AddIwrs(builder.Configuration);
        builder.Services.AddSingleton(sp => ActivatorUtilities.CreateInstance<LocalTimers>(sp, FunctionCatalog.TimerFunctions.ToList()));
        if (builder.Configuration.GetValue(RunTimersSetting, true))
        {
            builder.Services.AddHostedService(sp => sp.GetRequiredService<LocalTimers>());
        }

        builder.WebHost.ConfigureKestrel((context, kestrel) =>
            kestrel.Limits.MaxRequestBodySize = context.Configuration.GetValue(ApiOptions.Section + ":MaxRequestBodyBytes", new ApiOptions().MaxRequestBodyBytes));

        var app = builder.Build();
        app.MapFunctions(FunctionCatalog.All);
        if (app.Environment.IsDevelopment())
        {
            app.MapAdminFunctions();
        }

        return app;
    }
}
