using System.ComponentModel;
using System.Security.Cryptography;
using Iwrs.Domain;
using Iwrs.Functions.Errors;
using Iwrs.Functions.Hosting;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Iwrs.Functions.Auth;

/// <summary>
/// The development issuer's signing key, when the issuer is enabled: the configured one, or a random one per process
/// (its tokens die with it). Null when disabled, so the development scheme then refuses every token.
/// </summary>
public sealed class DevelopmentIssuer(IOptions<AuthOptions> options)
{
    public SymmetricSecurityKey? Key { get; } = options.Value.Development is { Enabled: true } d
        ? new SymmetricSecurityKey(d.SigningKey is { Length: > 0 } key ? Convert.FromBase64String(key) : RandomNumberGenerator.GetBytes(32))
        : null;
}

/// <summary>Mints development tokens; mapped only when the development issuer is enabled (never in a deployed app).</summary>
public sealed class DevelopmentTokens(RequestBody body, DevelopmentIssuer issuer, TimeProvider time, IOptions<AuthOptions> options)
{
    public sealed record TokenRequest(string? UserId, string? Name);

    public sealed record TokenResponse(string AccessToken, string TokenType, DateTimeOffset ExpiresAt, string UserId);

    public static string Issue(DevelopmentIssuer issuer, TimeProvider time, TimeSpan lifetime, string userId, string? name)
    {
        var now = time.GetUtcNow();
        var claims = new Dictionary<string, object> { ["oid"] = userId, ["sub"] = userId };
        if (name is not null)
        {
            claims["name"] = name;
        }

        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = DevelopmentIssuerOptions.Issuer,
            Audience = DevelopmentIssuerOptions.Audience,
            Claims = claims,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = (now + lifetime).UtcDateTime,
            SigningCredentials = new SigningCredentials(issuer.Key ?? throw new InvalidOperationException("The development issuer is not enabled."), SecurityAlgorithms.HmacSha256),
        });
    }

    /// <summary>Under the Functions host the function always exists; it answers only where the development issuer is enabled.</summary>
    [Function("DevelopmentToken")]
    [AllowAnonymous]
    [Description("Development only: a bearer token for any user id.")]
    public async Task<IResult> DevelopmentToken([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "dev/token")] HttpRequest request, CancellationToken ct)
    {
        if (!options.Value.Development.Enabled)
        {
            return Problems.Create(404, "not-found", Problems.Title(404) + ".");
        }

        var read = await body.ReadAsync<TokenRequest>(request, ct);
        if (!read.IsSuccess)
        {
            return Problems.From(read.Error!);
        }

        var userId = read.Value.UserId;
        if (!Identifiers.IsValid(userId, 128))
        {
            return Problems.From(DomainError.Validation([new FieldError("userId", "must be 1 to 128 characters: ASCII letters, digits, '-', '_' or '.'.")]));
        }

        var lifetime = options.Value.Development.TokenLifetime;
        var token = Issue(issuer, time, lifetime, userId!, read.Value.Name);
        return TypedResults.Ok(new TokenResponse(token, "Bearer", time.GetUtcNow() + lifetime, userId!));
    }
}
