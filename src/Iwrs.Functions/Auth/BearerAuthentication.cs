using System.Security.Claims;
using System.Text.Encodings.Web;
using Iwrs.Functions.Errors;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Iwrs.Functions.Auth;

/// <summary>Reads <c>Authorization: Bearer …</c>, validates it, and answers a missing or bad token with a 401 problem.</summary>
public sealed class BearerAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    TokenValidation validation)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Bearer";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return AuthenticateResult.NoResult();
        }

        var principal = await validation.ValidateAsync(header["Bearer ".Length..].Trim(), Context.RequestAborted);
        if (principal is null || Caller.UserIdOf(principal) is null)
        {
            return AuthenticateResult.Fail("The bearer token is not valid.");
        }

        return AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        await Problems.Create(401, "authentication-required", "Send a valid bearer token in the Authorization header.").ExecuteAsync(Context);
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        await Problems.Create(403, "forbidden", "You may not do this.").ExecuteAsync(Context);
}

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
