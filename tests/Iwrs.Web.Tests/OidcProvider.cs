using System.Net;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Iwrs.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Iwrs.Web.Tests;

/// <summary>
/// A real OpenID Connect provider standing in for Entra ID: OpenIddict's server on a free loopback port, over HTTPS
/// with a self-signed certificate made here (the API accepts only an https authority). It knows two clients, as an
/// Entra tenant would: the web app (a public SPA client: authorization code with PKCE, S256 only) and a setup
/// service principal (client credentials) that is the deployment's bootstrap administrator. Access tokens are signed
/// JWTs, not encrypted, carrying <c>oid</c>, the API's audience and the scopes granted.
/// <para>
/// It keeps no session, so <c>prompt=none</c> (the library's silent sign-in in a hidden frame) is answered
/// <c>login_required</c>, as Entra answers someone who has not signed in yet; an interactive authorize request signs
/// in <see cref="UserOid"/> at once (no login form, no consent). Degraded mode (no database): OpenIddict then leaves
/// client and redirect URI checks to the handlers registered here.
/// </para>
/// </summary>
public sealed class OidcProvider : IAsyncDisposable
{
    /// <summary>The web app's client id (its app registration).</summary>
    public const string ClientId = "iwrs-web-test";

    /// <summary>The API's audience (its Application ID URI) and the delegated scope the web app asks for.</summary>
    public const string Audience = "api://iwrs-api-test";
    public const string ApiScope = Audience + "/user_impersonation";

    /// <summary>The signed-in user's object id: what the API knows the user by.</summary>
    public const string UserOid = "3f2a6c1e-8d4b-4e7a-9c5f-2b1d0e9a7c41";
    public const string UserName = "Test Coordinator";

    /// <summary>The setup service principal: a confidential client whose app-only tokens carry its object id.</summary>
    public const string SetupClientId = "iwrs-setup-test";
    public const string SetupOid = "9b0c7d2e-1f3a-4c5b-8e6d-7a9f0b1c2d3e";

    public const string AuthorizePath = "/connect/authorize";
    public const string TokenPath = "/connect/token";
    public const string EndSessionPath = "/connect/endsession";

    private readonly WebApplication _app;
    private readonly string _setupSecret;
    private readonly byte[] _certificateHash;

    private OidcProvider(WebApplication app, Uri authority, X509Certificate2 certificate, string setupSecret)
    {
        _app = app;
        Authority = authority;
        Certificate = certificate;
        _setupSecret = setupSecret;
        _certificateHash = certificate.GetCertHash(HashAlgorithmName.SHA256);
    }

    /// <summary>The issuer, <c>https://127.0.0.1:{port}/</c>.</summary>
    public Uri Authority { get; }

    /// <summary>Scheme, host and port, as a CSP names it.</summary>
    public string Origin => Authority.GetLeftPart(UriPartial.Authority);

    public X509Certificate2 Certificate { get; }

    /// <summary>
    /// Starts the provider for a web app served at <paramref name="webApp"/> (its redirect URIs and the one origin its
    /// endpoints answer cross-origin: the SPA fetches the metadata, keys, token and user info from the browser).
    /// </summary>
    public static async Task<OidcProvider> StartAsync(Uri webApp)
    {
        ArgumentNullException.ThrowIfNull(webApp);
        var port = AzuriteServer.FreePort();
        var authority = new Uri($"https://127.0.0.1:{port}/");
        var certificate = SelfSignedCertificate();
        var setupSecret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var webOrigin = webApp.GetLeftPart(UriPartial.Authority);
        var redirectUri = new Uri(webApp, "authentication/login-callback");
        var postLogoutRedirectUri = new Uri(webApp, "authentication/logout-callback");

        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        // Its own settings only, not the app's appsettings.json that sits in the tests' output (nor the environment's).
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Logging:LogLevel:Default"] = "Warning" });
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port, listen => listen.UseHttps(certificate)));
        builder.Services.AddCors(cors => cors.AddDefaultPolicy(policy => policy.WithOrigins(webOrigin).AllowAnyHeader().AllowAnyMethod()));
        builder.Services.AddOpenIddict().AddServer(server =>
        {
            server.SetIssuer(authority)
                .SetAuthorizationEndpointUris(AuthorizePath)
                .SetTokenEndpointUris(TokenPath)
                .SetEndSessionEndpointUris(EndSessionPath)
                .SetUserInfoEndpointUris("/connect/userinfo")
                .AllowAuthorizationCodeFlow()
                .RequireProofKeyForCodeExchange()
                .AllowClientCredentialsFlow()
                .RegisterScopes(Scopes.OpenId, Scopes.Profile, ApiScope)
                .AddEphemeralSigningKey()
                .AddEphemeralEncryptionKey()
                .DisableAccessTokenEncryption()
                .EnableDegradedMode();
            server.UseAspNetCore();

            // Degraded mode checks no client: these handlers are the registrations an Entra tenant would hold.
            server.AddEventHandler<OpenIddictServerEvents.ValidateAuthorizationRequestContext>(handler => handler.UseInlineHandler(context =>
            {
                if (context.ClientId != ClientId)
                {
                    context.Reject(Errors.InvalidClient, "Unknown client.");
                }
                else if (context.Request.RedirectUri != redirectUri.AbsoluteUri)
                {
                    context.Reject(Errors.InvalidRequest, "The redirect_uri is not registered for this client.");
                }

                return default;
            }));
            server.AddEventHandler<OpenIddictServerEvents.ValidateTokenRequestContext>(handler => handler.UseInlineHandler(context =>
            {
                var spa = context.ClientId == ClientId && context.ClientSecret is null && context.Request.IsAuthorizationCodeGrantType();
                var setup = context.ClientId == SetupClientId && context.Request.IsClientCredentialsGrantType() && context.ClientSecret is { } secret
                    && CryptographicOperations.FixedTimeEquals(System.Text.Encoding.UTF8.GetBytes(secret), System.Text.Encoding.UTF8.GetBytes(setupSecret));
                if (!spa && !setup)
                {
                    context.Reject(Errors.InvalidClient, "Unknown client, wrong secret or a grant this client may not use.");
                }

                return default;
            }));
            server.AddEventHandler<OpenIddictServerEvents.ValidateEndSessionRequestContext>(handler => handler.UseInlineHandler(context =>
            {
                if (context.Request.PostLogoutRedirectUri is { } uri && uri != postLogoutRedirectUri.AbsoluteUri)
                {
                    context.Reject(Errors.InvalidRequest, "The post_logout_redirect_uri is not registered.");
                }

                return default;
            }));

            // The "sign-in page": no session is kept, so a silent request always needs a login, and an interactive one
            // signs the test user in at once.
            server.AddEventHandler<OpenIddictServerEvents.HandleAuthorizationRequestContext>(handler => handler.UseInlineHandler(context =>
            {
                if (context.Request.HasPromptValue(PromptValues.None))
                {
                    context.Reject(Errors.LoginRequired, "Nobody is signed in at the provider.");
                    return default;
                }

                context.SignIn(Principal(UserOid, UserName, context.Request.GetScopes()));
                return default;
            }));
            server.AddEventHandler<OpenIddictServerEvents.HandleTokenRequestContext>(handler => handler.UseInlineHandler(context =>
            {
                // The code grant's principal is the one signed in above (OpenIddict takes it from the code itself).
                if (context.Request.IsClientCredentialsGrantType())
                {
                    context.SignIn(Principal(SetupOid, null, context.Request.GetScopes()));
                }

                return default;
            }));
            server.AddEventHandler<OpenIddictServerEvents.HandleEndSessionRequestContext>(handler => handler.UseInlineHandler(context =>
            {
                context.SignOut();
                return default;
            }));
        });

        var app = builder.Build();
        app.UseCors();
        app.UseAuthentication();
        await app.StartAsync();
        return new OidcProvider(app, authority, certificate, setupSecret);
    }

    /// <summary>A handler that trusts this provider's certificate and no other (it is self-signed).</summary>
    public HttpMessageHandler TrustingHandler() => new SocketsHttpHandler
    {
        SslOptions =
        {
            RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                certificate is not null && CryptographicOperations.FixedTimeEquals(certificate.GetCertHash(HashAlgorithmName.SHA256), _certificateHash),
        },
    };

    /// <summary>An app-only access token of the setup service principal (client credentials), for the API.</summary>
    public async Task<string> SetupTokenAsync()
    {
        using var http = new HttpClient(TrustingHandler());
        using var form = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = GrantTypes.ClientCredentials,
            ["client_id"] = SetupClientId,
            ["client_secret"] = _setupSecret,
            ["scope"] = ApiScope,
        });
        using var response = await http.PostAsync(new Uri(Authority, TokenPath.TrimStart('/')), form);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.IsSuccessStatusCode, $"client credentials: {(int)response.StatusCode} {body}");
        return body.GetProperty("access_token").GetString()!;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        Certificate.Dispose();
    }

    /// <summary>What Entra puts in a token that the API reads: <c>oid</c> (and <c>sub</c>), the name, the API as
    /// audience, the scopes granted; in the access token and the id token alike.</summary>
    private static ClaimsPrincipal Principal(string oid, string? name, IEnumerable<string> scopes)
    {
        var identity = new ClaimsIdentity(authenticationType: "test-provider", nameType: Claims.Name, roleType: Claims.Role);
        identity.SetClaim(Claims.Subject, oid).SetClaim("oid", oid);
        if (name is not null)
        {
            identity.SetClaim(Claims.Name, name);
        }

        identity.SetScopes(scopes).SetResources(Audience);
        identity.SetDestinations(_ => [Destinations.AccessToken, Destinations.IdentityToken]);
        return new ClaimsPrincipal(identity);
    }

    /// <summary>A certificate for 127.0.0.1 valid for the test run, signed by its own key.</summary>
    private static X509Certificate2 SelfSignedCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var now = TimeProvider.System.GetUtcNow();
        return request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));
    }
}
