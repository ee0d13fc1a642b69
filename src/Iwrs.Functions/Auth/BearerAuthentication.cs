using System.Globalization;
using System.Security.Claims;
using Iwrs.Functions.Errors;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace Iwrs.Functions.Auth;

/// <summary>
/// Bearer tokens through Microsoft.AspNetCore.Authentication.JwtBearer. Three schemes:
/// <list type="bullet">
/// <item><see cref="EntraScheme"/>: Microsoft Entra ID, keys and issuer from the authority's OpenID metadata
/// (<c>Auth:Authority</c>), audience <c>Auth:Audience</c>.</item>
/// <item><see cref="DevelopmentScheme"/>: the development issuer (<c>Auth:Development</c>), its HMAC key; with the
/// issuer disabled it has no key and refuses every token.</item>
/// <item><see cref="SchemeName"/>: a policy scheme that hands each token to one of the two by the issuer it claims, so
/// that only tokens claiming our tenant make the app fetch Entra's metadata (a forged or foreign token costs no
/// network call, and needs none to be refused).</item>
/// </list>
/// Lifetimes are checked against the injected TimeProvider. The isolated worker does not run ASP.NET Core's
/// authentication middleware, so the hosts call <see cref="AuthenticateAsync"/> once per HTTP request. No scheme is the
/// default authenticate scheme on purpose: ASP.NET Core's own authentication middleware (which WebApplication adds by
/// itself when UseAuthentication is not called) then finds nothing to run, and AuthenticateAsync is the one place a
/// request is authenticated. Challenge and forbid go through <see cref="SchemeName"/> and answer with our problems.
/// </summary>
public static class BearerAuthentication
{
    public const string SchemeName = "Bearer";
    public const string EntraScheme = "Entra";
    public const string DevelopmentScheme = "Development";

    /// <summary>The named HttpClient that fetches Entra's OpenID metadata and signing keys.</summary>
    public const string MetadataHttpClient = "entra-metadata";

    public static IServiceCollection AddIwrsAuthentication(this IServiceCollection services)
    {
        services.AddHttpClient(MetadataHttpClient);
        services.AddSingleton<DevelopmentIssuer>();
        services.AddAuthentication(o =>
            {
                o.DefaultChallengeScheme = SchemeName;
                o.DefaultForbidScheme = SchemeName;
            })
            .AddPolicyScheme(SchemeName, "Entra ID or the development issuer, by the token's issuer", _ => { })
            .AddJwtBearer(EntraScheme, _ => { })
            .AddJwtBearer(DevelopmentScheme, _ => { });

        services.AddOptions<PolicySchemeOptions>(SchemeName).Configure<IOptions<AuthOptions>>((o, auth) =>
            o.ForwardDefaultSelector = context => SchemeFor(context, auth.Value));

        services.AddOptions<JwtBearerOptions>(EntraScheme).Configure<IOptions<AuthOptions>, TimeProvider, IHttpClientFactory>((o, auth, time, http) =>
        {
            var a = auth.Value;
            Common(o, a, time);
            if (string.IsNullOrWhiteSpace(a.Authority))
            {
                return;
            }

            // The issuer and signing keys come from the metadata; JwtBearer adds them to these parameters per request.
            o.TokenValidationParameters.ValidAudience = a.Audience;
            var metadata = a.Authority.TrimEnd('/') + "/.well-known/openid-configuration";
            o.ConfigurationManager = new EntraMetadata(new ConfigurationManager<OpenIdConnectConfiguration>(
                metadata,
                new OpenIdConnectConfigurationRetriever(),
                new HttpDocumentRetriever(http.CreateClient(MetadataHttpClient)) { RequireHttps = true }));
        });

        services.AddOptions<JwtBearerOptions>(DevelopmentScheme).Configure<IOptions<AuthOptions>, TimeProvider, DevelopmentIssuer>((o, auth, time, issuer) =>
        {
            Common(o, auth.Value, time);
            o.TokenValidationParameters.ValidIssuer = DevelopmentIssuerOptions.Issuer;
            o.TokenValidationParameters.ValidAudience = DevelopmentIssuerOptions.Audience;
            o.TokenValidationParameters.IssuerSigningKeys = issuer.Key is { } key ? [key] : [];
        });

        return services;
    }

    /// <summary>
    /// Authenticates one HTTP request with <see cref="SchemeName"/> and, on success, sets <c>HttpContext.User</c>. The
    /// caller answers with <see cref="AuthenticationOutcome.Problem"/> when it is set (a bad token: 401; the identity
    /// provider's metadata unreachable: 503 with Retry-After), and otherwise goes on (authorization decides what an
    /// anonymous caller may do).
    /// </summary>
    public static async Task<AuthenticationOutcome> AuthenticateAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        AuthenticateResult result;
        try
        {
            result = await context.AuthenticateAsync(SchemeName);
        }
        catch (IdentityProviderUnavailableException e)
        {
            return Unavailable(context, e);
        }

        if (result.Succeeded)
        {
            context.User = result.Principal;
            return AuthenticationOutcome.Authenticated(result.Principal);
        }

        return result.Failure switch
        {
            null => AuthenticationOutcome.Anonymous,
            IdentityProviderUnavailableException e => Unavailable(context, e),
            _ => AuthenticationOutcome.Rejected,
        };
    }

    private static AuthenticationOutcome Unavailable(HttpContext context, IdentityProviderUnavailableException e)
    {
        context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(BearerAuthentication))
            .LogWarning(e, "Identity provider unavailable");
        return AuthenticationOutcome.Unavailable(e);
    }

    /// <summary>
    /// The scheme for a request's token, by the issuer it claims (read, not trusted: the chosen scheme validates it).
    /// A token that cannot be read, or names another issuer, goes to the development scheme, which refuses it without a
    /// network call (it holds no key unless the development issuer is on).
    /// </summary>
    private static string SchemeFor(HttpContext context, AuthOptions options)
    {
        var header = context.Request.Headers.Authorization.ToString();
        if (string.IsNullOrWhiteSpace(options.Authority) || !header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return DevelopmentScheme;
        }

        var handler = new JsonWebTokenHandler();
        var token = header["Bearer ".Length..].Trim();
        string? issuer = null;
        if (handler.CanReadToken(token))
        {
            try
            {
                issuer = handler.ReadJsonWebToken(token).Issuer;
            }
            catch (Exception e) when (e is ArgumentException or SecurityTokenException)
            {
                // Malformed: three segments that are not a JWT. The development scheme refuses it.
            }
        }

        return issuer is not null && string.Equals(issuer.TrimEnd('/'), options.Authority.TrimEnd('/'), StringComparison.OrdinalIgnoreCase)
            ? EntraScheme
            : DevelopmentScheme;
    }

    /// <summary>What both JwtBearer schemes share: claims as issued, lifetime on our clock, our problems.</summary>
    private static void Common(JwtBearerOptions o, AuthOptions auth, TimeProvider time)
    {
        o.TimeProvider = time;
        o.MapInboundClaims = false;
        o.IncludeErrorDetails = false;
        o.RefreshOnIssuerKeyNotFound = true;
        var skew = auth.ClockSkew;
        o.TokenValidationParameters = new TokenValidationParameters
        {
            ValidateIssuer = true,
            ValidateAudience = true,
            ValidateIssuerSigningKey = true,
            RequireSignedTokens = true,
            RequireExpirationTime = true,
            ValidateLifetime = true,
            ClockSkew = skew,
            LifetimeValidator = (notBefore, expires, _, _) =>
            {
                var now = time.GetUtcNow().UtcDateTime;
                return expires is { } exp && now <= exp.ToUniversalTime() + skew &&
                       (notBefore is not { } nbf || now >= nbf.ToUniversalTime() - skew);
            },
            NameClaimType = "name",
        };
        o.Events = new JwtBearerEvents
        {
            OnTokenValidated = context =>
            {
                // Every role assignment and audit record names the caller by this id: without one, no access.
                if (context.Principal is null || Caller.UserIdOf(context.Principal) is null)
                {
                    context.Fail("The token carries no valid user id (oid or sub).");
                }

                return Task.CompletedTask;
            },
            OnAuthenticationFailed = context =>
            {
                // A failure, not an exception: AuthenticateAsync tells it apart from a bad token and answers 503.
                if (context.Exception is IdentityProviderUnavailableException unavailable)
                {
                    context.Fail(unavailable);
                }

                return Task.CompletedTask;
            },
            OnChallenge = async context =>
            {
                context.HandleResponse();
                await AuthenticationOutcome.Rejected.Problem!.ExecuteAsync(context.HttpContext);
            },
            OnForbidden = async context =>
                await Problems.Create(403, "forbidden", "You may not do this.").ExecuteAsync(context.HttpContext),
        };
    }

    /// <summary>
    /// Entra's metadata, with a failure to fetch it (no configuration held yet, or none to be had) turned into
    /// <see cref="IdentityProviderUnavailableException"/>. Not a BaseConfigurationManager on purpose: JwtBearer then
    /// awaits it before validating, and a failure reaches OnAuthenticationFailed, instead of being logged and swallowed
    /// inside token validation where it would look like a bad signature.
    /// </summary>
    private sealed class EntraMetadata(ConfigurationManager<OpenIdConnectConfiguration> inner) : IConfigurationManager<OpenIdConnectConfiguration>
    {
        public async Task<OpenIdConnectConfiguration> GetConfigurationAsync(CancellationToken cancel)
        {
            try
            {
                return await inner.GetConfigurationAsync(cancel);
            }
            catch (InvalidOperationException e) when (!cancel.IsCancellationRequested)
            {
                throw new IdentityProviderUnavailableException("The identity provider's signing keys could not be fetched.", e);
            }
        }

        public void RequestRefresh() => inner.RequestRefresh();
    }
}

/// <summary>What <see cref="BearerAuthentication.AuthenticateAsync"/> found, and the answer to send when the request must stop there.</summary>
public sealed class AuthenticationOutcome
{
    private AuthenticationOutcome(AuthenticationOutcomeKind kind, ClaimsPrincipal? user, IResult? problem, Exception? error)
    {
        Kind = kind;
        User = user;
        Problem = problem;
        Error = error;
    }

    /// <summary>No bearer token: the request goes on anonymously; endpoints that need a caller challenge (401).</summary>
    public static AuthenticationOutcome Anonymous { get; } = new(AuthenticationOutcomeKind.Anonymous, null, null, null);

    /// <summary>A token that is not valid (malformed, unsigned, wrong key, issuer or audience, expired, no user id): 401.</summary>
    public static AuthenticationOutcome Rejected { get; } = new(
        AuthenticationOutcomeKind.Rejected,
        null,
        new ProblemWithHeader(
            Problems.Create(401, "authentication-required", "Send a valid bearer token in the Authorization header."), "WWW-Authenticate", "Bearer"),
        null);

    public AuthenticationOutcomeKind Kind { get; }

    /// <summary>The authenticated caller, when <see cref="Kind"/> is Authenticated.</summary>
    public ClaimsPrincipal? User { get; }

    /// <summary>The answer to send instead of running the endpoint; null when the request goes on.</summary>
    public IResult? Problem { get; }

    /// <summary>Why the identity provider was unavailable, for the log.</summary>
    public Exception? Error { get; }

    public static AuthenticationOutcome Authenticated(ClaimsPrincipal user) => new(AuthenticationOutcomeKind.Authenticated, user, null, null);

    /// <summary>The identity provider's metadata could not be fetched: not the caller's fault, so 503 with Retry-After.</summary>
    public static AuthenticationOutcome Unavailable(Exception error) => new(
        AuthenticationOutcomeKind.IdentityProviderUnavailable,
        null,
        new ProblemWithHeader(
            Problems.Create(503, "identity-provider-unavailable", "Sign-in keys could not be fetched; try again shortly."),
            "Retry-After",
            ExceptionProblems.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture)),
        error);

    /// <summary>A problem answer with one header set before it (WWW-Authenticate on a 401, Retry-After on a 503).</summary>
    private sealed class ProblemWithHeader(IResult problem, string header, string value) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers[header] = value;
            await problem.ExecuteAsync(httpContext);
        }
    }
}

public enum AuthenticationOutcomeKind
{
    Anonymous,
    Authenticated,
    Rejected,
    IdentityProviderUnavailable,
}

/// <summary>Entra's metadata could not be fetched: not the caller's fault, so a 503 rather than a 401.</summary>
public sealed class IdentityProviderUnavailableException(string message, Exception inner) : Exception(message, inner);

/// <summary>The authenticated caller: the user id every role assignment and audit record refers to.</summary>
public sealed record Caller(string UserId, string? Name)
{
    /// <summary>Entra's immutable object id (<c>oid</c>) when present, else the subject (<c>sub</c>).</summary>
    public static string? UserIdOf(ClaimsPrincipal principal)
    {
        var id = principal.FindFirst("oid")?.Value ?? principal.FindFirst("sub")?.Value;
        return Domain.Identifiers.IsValid(id, 128) ? id : null;
    }

    public static Caller From(HttpContext context) =>
        new(UserIdOf(context.User) ?? throw new InvalidOperationException("No authenticated caller on this request."), context.User.FindFirst("name")?.Value);
}
