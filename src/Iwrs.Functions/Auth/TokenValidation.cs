using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace Iwrs.Functions.Auth;

/// <summary>
/// Validates bearer tokens: Microsoft Entra ID tokens against the authority's published signing keys, and, when
/// enabled locally, tokens from the development issuer. Lifetimes are checked against the injected
/// TimeProvider. (Microsoft.AspNetCore.Authentication.JwtBearer 10 needs IdentityModel 8.19, which the
/// registry does not serve; this is the part of it we need, on IdentityModel 8.16.)
/// </summary>
public sealed class TokenValidation
{
    private readonly AuthOptions _options;
    private readonly TimeProvider _time;
    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };
    private readonly ConfigurationManager<OpenIdConnectConfiguration>? _entra;

    public TokenValidation(IOptions<AuthOptions> options, TimeProvider time, IHttpClientFactory httpClients)
    {
        _options = options.Value;
        _time = time;
        if (_options.Development.Enabled)
        {
            DevelopmentKey = new SymmetricSecurityKey(_options.Development.SigningKey is { Length: > 0 } key
                ? Convert.FromBase64String(key)
                : RandomNumberGenerator.GetBytes(32));
        }

        if (!string.IsNullOrWhiteSpace(_options.Authority))
        {
            var metadata = _options.Authority.TrimEnd('/') + "/.well-known/openid-configuration";
            _entra = new ConfigurationManager<OpenIdConnectConfiguration>(
                metadata,
                new OpenIdConnectConfigurationRetriever(),
                new HttpDocumentRetriever(httpClients.CreateClient("entra-metadata")) { RequireHttps = true });
        }
    }

    /// <summary>The development issuer's key, when enabled.</summary>
    public SymmetricSecurityKey? DevelopmentKey { get; }

    public async Task<ClaimsPrincipal?> ValidateAsync(string token, CancellationToken ct)
    {
        if (!_handler.CanReadToken(token))
        {
            return null;
        }

        var issuer = new JsonWebToken(token).Issuer;
        TokenValidationParameters parameters;
        if (DevelopmentKey is not null && issuer == DevelopmentIssuerOptions.Issuer)
        {
            parameters = Parameters(DevelopmentIssuerOptions.Issuer, DevelopmentIssuerOptions.Audience, [DevelopmentKey]);
        }
        else if (_entra is not null && string.Equals(issuer?.TrimEnd('/'), _options.Authority!.TrimEnd('/'), StringComparison.OrdinalIgnoreCase))
        {
            // Only tokens that claim our tenant's v2 issuer are worth fetching signing keys for.
            OpenIdConnectConfiguration config;
            try
            {
                config = await _entra.GetConfigurationAsync(ct);
            }
            catch (InvalidOperationException e)
            {
                throw new IdentityProviderUnavailableException("The identity provider's signing keys could not be fetched.", e);
            }

            parameters = Parameters(config.Issuer, _options.Audience!, config.SigningKeys);
        }
        else
        {
            return null;
        }

        var result = await _handler.ValidateTokenAsync(token, parameters);
        return result.IsValid ? new ClaimsPrincipal(result.ClaimsIdentity) : null;
    }

    private TokenValidationParameters Parameters(string issuer, string audience, IEnumerable<SecurityKey> keys) => new()
    {
        ValidIssuer = issuer,
        ValidAudience = audience,
        IssuerSigningKeys = keys,
        ValidateIssuer = true,
        ValidateAudience = true,
        ValidateIssuerSigningKey = true,
        RequireSignedTokens = true,
        RequireExpirationTime = true,
        ValidateLifetime = true,
        LifetimeValidator = (notBefore, expires, _, _) =>
        {
            var now = _time.GetUtcNow().UtcDateTime;
            return expires is { } exp && now <= exp.ToUniversalTime() + _options.ClockSkew &&
                   (notBefore is not { } nbf || now >= nbf.ToUniversalTime() - _options.ClockSkew);
        },
        NameClaimType = "name",
    };
}

/// <summary>Entra's metadata could not be fetched: not the caller's fault, so a 503 rather than a 401.</summary>
public sealed class IdentityProviderUnavailableException(string message, Exception inner) : Exception(message, inner);
