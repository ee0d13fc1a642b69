using Iwrs.Functions.Auth;
using Iwrs.Functions.Features;
using Iwrs.Functions.Features.Sms;
using Iwrs.Functions.Hosting;
using Iwrs.Domain.Supply;
using Microsoft.Extensions.Options;

namespace Iwrs.Functions;

/// <summary>
/// The composition root: settings and services. The Functions app (Program.cs) and the local host both call
/// <see cref="AddIwrs"/>, so the two run the same function classes with the same services.
/// </summary>
public static class IwrsApp
{
    public static IServiceCollection AddIwrs(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton(TimeProvider.System);
        services.AddOptions<ApiOptions>().Bind(configuration.GetSection(ApiOptions.Section));
        services.AddSingleton<RequestBody>();
        services.AddIwrsStorage(configuration);
        services.AddIwrsAudit(configuration);
        services.AddIwrsNotifications(configuration);
        services.AddIwrsSms(configuration);

        services.AddOptions<AuthOptions>().Bind(configuration.GetSection(AuthOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AuthOptions>, AuthOptionsValidator>();
        services.AddSingleton<AccessResolver>();
        services.AddSingleton<Shipping>();
        services.AddSingleton<ResupplyCheck>();
        services.AddSingleton<SupplyHolds>();
        services.AddSingleton<IResupplyRule>(Resupply.BlindSafe);
        services.AddSingleton<IRandomSource, CryptoRandomSource>();
        services.AddIwrsAuthentication();

        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.CamelCase;
            o.SerializerOptions.DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull;
        });
        return services;
    }
}
