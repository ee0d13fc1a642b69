using Microsoft.Extensions.Options;

namespace Iwrs.Functions.Auth;

/// <summary>Authentication settings (section <c>Auth</c>).</summary>
public sealed class AuthOptions
{
    public const string Section = "Auth";

    /// <summary>
    /// Microsoft Entra ID authority, e.g. <c>https://login.microsoftonline.com/{tenantId}/v2.0</c>. Its OpenID
    /// metadata gives the issuer and signing keys. Required unless only the development issuer is used.
    /// </summary>
    public string? Authority { get; set; }

    /// <summary>The audience tokens must carry: the app registration's client id or Application ID URI.</summary>
    public string? Audience { get; set; }

    /// <summary>User ids (Entra object ids) that are administrators without a stored assignment, so a new deployment can be set up.</summary>
    public List<string> BootstrapAdministrators { get; set; } = [];

    /// <summary>Clock skew allowed when checking a token's lifetime. Default 2 minutes.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromMinutes(2);

    public DevelopmentIssuerOptions Development { get; set; } = new();
}

/// <summary>
/// A token issuer for local use only: it mints a token for any user id, so it must never run in a deployed
/// app. The app refuses to start when it is enabled outside the Development environment or on Azure.
/// </summary>
public sealed class DevelopmentIssuerOptions
{
    /// <summary>Default false.</summary>
    public bool Enabled { get; set; }

    /// <summary>Base64 HMAC key of at least 32 bytes; if empty, a random key per process (tokens die with it).</summary>
    public string? SigningKey { get; set; }

    public const string Issuer = "iwrs-development";
    public const string Audience = "iwrs-development";

    /// <summary>Default 12 hours: a working day.</summary>
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromHours(12);
}

/// <summary>Checks AuthOptions at start and lists every problem, so a misconfigured deployment fails before its first request.</summary>
public sealed class AuthOptionsValidator(IHostEnvironment environment, IConfiguration configuration) : IValidateOptions<AuthOptions>
{
    /// <summary>App settings that Azure App Service and Azure Functions set on every deployed instance.</summary>
    public static readonly string[] DeployedMarkers = ["WEBSITE_INSTANCE_ID", "WEBSITE_SITE_NAME", "WEBSITE_HOSTNAME", "CONTAINER_APP_NAME"];

    public ValidateOptionsResult Validate(string? name, AuthOptions options)
    {
        var errors = new List<string>();
        if (options.Development.Enabled)
        {
            var marker = DeployedMarkers.FirstOrDefault(m => !string.IsNullOrEmpty(configuration[m]));
            if (marker is not null)
            {
                errors.Add($"Auth:Development:Enabled is true but this is a deployed app ({marker} is set); the development token issuer can only run locally.");
            }
            else if (!environment.IsDevelopment())
            {
                errors.Add($"Auth:Development:Enabled is true in the '{environment.EnvironmentName}' environment; the development token issuer runs only in Development.");
            }

            if (options.Development.SigningKey is { Length: > 0 } key && !IsKey(key))
            {
                errors.Add("Auth:Development:SigningKey must be base64 of at least 32 bytes.");
            }
        }
        else if (string.IsNullOrWhiteSpace(options.Authority))
        {
            errors.Add("Auth:Authority is required (e.g. https://login.microsoftonline.com/{tenantId}/v2.0).");
        }

        if (!string.IsNullOrWhiteSpace(options.Authority))
        {
            if (!Uri.TryCreate(options.Authority, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps)
            {
                errors.Add("Auth:Authority must be an absolute https URL.");
            }

            if (string.IsNullOrWhiteSpace(options.Audience))
            {
                errors.Add("Auth:Audience is required with Auth:Authority.");
            }
        }

        if (options.ClockSkew < TimeSpan.Zero || options.ClockSkew > TimeSpan.FromMinutes(10))
        {
            errors.Add("Auth:ClockSkew must be between 0 and 10 minutes.");
        }

        foreach (var admin in options.BootstrapAdministrators)
        {
            if (!Domain.Identifiers.IsValid(admin, 128))
            {
                errors.Add($"Auth:BootstrapAdministrators entry '{admin}' is not a valid user id.");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static bool IsKey(string value)
    {
        var buffer = new byte[value.Length];
        return Convert.TryFromBase64String(value, buffer, out var written) && written >= 32;
    }
}
