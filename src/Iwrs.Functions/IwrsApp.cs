using Iwrs.Functions.Auth;
using Iwrs.Functions.Errors;
using Iwrs.Functions.Features;
using Iwrs.Functions.Hosting;
using Microsoft.Extensions.Options;

namespace Iwrs.Functions;

/// <summary>The composition root: settings, services and endpoints. Program.cs only builds and runs it.</summary>
public static class IwrsApp
{
    /// <summary>Set by the Functions host for a custom handler: the loopback port to listen on.</summary>
    public const string CustomHandlerPortSetting = "FUNCTIONS_CUSTOMHANDLER_PORT";

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        configure?.Invoke(builder);
        builder.Services.AddIwrs(builder.Configuration);

        if (builder.Configuration[CustomHandlerPortSetting] is { Length: > 0 } port)
        {
            // Under the host, only the host may reach us: loopback only, on the port it chose.
            builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        }

        builder.WebHost.ConfigureKestrel((context, kestrel) =>
            kestrel.Limits.MaxRequestBodySize = context.Configuration.GetValue(ApiOptions.Section + ":MaxRequestBodyBytes", new ApiOptions().MaxRequestBodyBytes));

        var app = builder.Build();
        app.UseIwrs();
        return app;
    }

    public static bool RunsUnderFunctionsHost(IConfiguration configuration) =>
        !string.IsNullOrEmpty(configuration[CustomHandlerPortSetting]);

    public static IServiceCollection AddIwrs(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton(TimeProvider.System);
        services.AddOptions<ApiOptions>().Bind(configuration.GetSection(ApiOptions.Section));
        services.AddSingleton<JsonBody>();
        services.AddIwrsStorage(configuration);
        services.AddIwrsNotifications(configuration);

        services.AddOptions<AuthOptions>().Bind(configuration.GetSection(AuthOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AuthOptions>, AuthOptionsValidator>();
        services.AddSingleton<AccessResolver>();
        services.AddSingleton<Shipping>();
        services.AddSingleton<ResupplyCheck>();
        services.AddSingleton<ITimerFunction>(sp => sp.GetRequiredService<ResupplyCheck>());
        services.AddIwrsAuthentication();
        services.AddAuthorization();

        services.AddProblemDetails();
        services.AddExceptionHandler<ErrorHandler>();
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.CamelCase;
            o.SerializerOptions.DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull;
        });
        services.AddOpenApi("v1", o => o.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "Iwrs API";
            document.Info.Description = "Randomization, kit assignment, supply and emergency unblinding for clinical trials. Errors are RFC 9457 problem details with a stable 'code'.";
            return Task.CompletedTask;
        }));

        if (!RunsUnderFunctionsHost(configuration) && configuration.GetValue("Timers:RunLocally", true))
        {
            services.AddHostedService<LocalTimerScheduler>();
        }

        return services;
    }

    public static WebApplication UseIwrs(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodeProblems();
        app.UseBearerAuthentication();
        app.UseAuthorization();

        app.MapHealth();
        app.MapOpenApi("/api/openapi/{documentName}.json").AllowAnonymous();
        app.MapStudies();
        app.MapRoles();
        app.MapAudit();
        app.MapSupply();
        app.MapSubjects();
        app.MapRandomizationList();
        if (app.Services.GetRequiredService<IOptions<AuthOptions>>().Value.Development.Enabled)
        {
            app.MapDevelopmentTokens();
        }

        if (RunsUnderFunctionsHost(app.Configuration))
        {
            app.MapTimerFunctions();
        }

        return app;
    }
}
