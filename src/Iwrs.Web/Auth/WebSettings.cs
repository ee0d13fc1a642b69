namespace Iwrs.Web.Auth;

/// <summary>
/// Where the API is and how users sign in, from <c>wwwroot/appsettings.json</c> (written by the deployment). With an
/// Entra authority the app signs in with OIDC (authorization code + PKCE); without one it offers the development
/// sign-in, but only where the API's development token endpoint answers.
/// </summary>
public sealed record WebSettings(Uri ApiBase, string? Authority, string? ClientId, string? ApiScope)
{
    public bool UsesEntra => !string.IsNullOrWhiteSpace(Authority);

    public static WebSettings From(IConfiguration configuration, string baseAddress)
    {
        var api = configuration["Api:BaseUrl"];
        var apiBase = string.IsNullOrWhiteSpace(api) ? new Uri(baseAddress) : new Uri(api.EndsWith('/') ? api : api + "/");
        return new WebSettings(apiBase, Blank(configuration["Oidc:Authority"]), Blank(configuration["Oidc:ClientId"]), Blank(configuration["Oidc:ApiScope"]));
    }

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
