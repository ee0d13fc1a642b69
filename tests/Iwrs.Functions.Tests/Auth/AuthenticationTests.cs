using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using Iwrs.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Iwrs.Functions.Tests.Auth;

public sealed class AuthenticationTests
{
    [Fact]
    public async Task Studies_NoToken_Is401ProblemWithChallenge()
    {
        await using var app = new IwrsFactory();
        using var response = await app.CreateClient().GetAsync("/api/studies");
        await ProblemAssert.IsProblem(response, HttpStatusCode.Unauthorized, "authentication-required");
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Theory]
    [InlineData("not-a-jwt")]
    [InlineData("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhZG1pbi0xIiwiaXNzIjoiaXdycy1kZXZlbG9wbWVudCIsImF1ZCI6Iml3cnMtZGV2ZWxvcG1lbnQifQ.")]
    public async Task Studies_InvalidOrUnsignedToken_Is401(string token)
    {
        await using var app = new IwrsFactory();
        var client = app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        await ProblemAssert.IsProblem(await client.GetAsync("/api/studies"), HttpStatusCode.Unauthorized, "authentication-required");
    }

    [Fact]
    public async Task Studies_MalformedToken_Is401NotAnInternalError()
    {
        await using var app = new IwrsFactory();
        var client = app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "abc.def.ghi");

        using var response = await client.GetAsync("/api/studies");

        await ProblemAssert.IsProblem(response, HttpStatusCode.Unauthorized, "authentication-required");
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Fact]
    public async Task Studies_ValidTokenWithoutUserId_Is401()
    {
        var key = RandomNumberGenerator.GetBytes(32);
        await using var app = new IwrsFactory(settings: new() { ["Auth:Development:SigningKey"] = Convert.ToBase64String(key) });
        var time = app.Services.GetRequiredService<TimeProvider>();
        var client = app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue(
            "Bearer", Token("iwrs-development", "iwrs-development", new SymmetricSecurityKey(key), time.GetUtcNow(), new Dictionary<string, object> { ["name"] = "No Id" }));

        await ProblemAssert.IsProblem(await client.GetAsync("/api/studies"), HttpStatusCode.Unauthorized, "authentication-required");
    }

    [Fact]
    public async Task Studies_IdentityProviderMetadataUnreachable_Is503WithRetryAfter()
    {
        // Nobody listens on this loopback port: the authority's metadata cannot be fetched.
        var authority = $"https://127.0.0.1:{AzuriteServer.FreePort()}/00000000-0000-0000-0000-000000000000/v2.0";
        await using var app = new IwrsFactory(settings: new()
        {
            ["Auth:Authority"] = authority,
            ["Auth:Audience"] = "api://iwrs",
        });
        var client = app.CreateClient();
        var now = app.Services.GetRequiredService<TimeProvider>().GetUtcNow();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue(
            "Bearer", Token(authority, "api://iwrs", new SymmetricSecurityKey(RandomNumberGenerator.GetBytes(32)), now, new Dictionary<string, object> { ["oid"] = "user-1" }));

        using var response = await client.GetAsync("/api/studies");

        await ProblemAssert.IsProblem(response, HttpStatusCode.ServiceUnavailable, "identity-provider-unavailable");
        Assert.NotNull(response.Headers.RetryAfter);

        // Development tokens do not depend on Entra: they still work while its metadata is out of reach.
        var dev = await app.ClientFor(IwrsFactory.Admin);
        Assert.Equal(HttpStatusCode.OK, (await dev.GetAsync("/api/studies")).StatusCode);
    }

    [Fact]
    public async Task Health_NoToken_IsAnonymousAndOk()
    {
        await using var app = new IwrsFactory();
        Assert.Equal(HttpStatusCode.OK, (await app.CreateClient().GetAsync("/api/health")).StatusCode);
    }

    private static string Token(string issuer, string audience, SecurityKey key, DateTimeOffset now, Dictionary<string, object> claims) =>
        new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            Claims = claims,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = (now + TimeSpan.FromHours(1)).UtcDateTime,
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.HmacSha256),
        });

    [Fact]
    public async Task Studies_TokenFromAnotherIssuerKey_Is401()
    {
        // Each app without a configured key signs with its own random key: the other's tokens must not pass.
        await using var other = new IwrsFactory();
        var foreign = await other.ClientFor(IwrsFactory.Admin);
        await using var app = new IwrsFactory();
        var client = app.CreateClient();
        client.DefaultRequestHeaders.Authorization = foreign.DefaultRequestHeaders.Authorization;
        await ProblemAssert.IsProblem(await client.GetAsync("/api/studies"), HttpStatusCode.Unauthorized, "authentication-required");
    }

    [Fact]
    public async Task Studies_ExpiredToken_Is401()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 21, 2, 0, 0, TimeSpan.Zero));
        await using var app = new IwrsFactory(services: s => s.AddSingleton<TimeProvider>(time));
        var client = await app.ClientFor(IwrsFactory.Admin);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/studies")).StatusCode);

        time.Advance(TimeSpan.FromHours(12) + TimeSpan.FromMinutes(3));
        await ProblemAssert.IsProblem(await client.GetAsync("/api/studies"), HttpStatusCode.Unauthorized, "authentication-required");
    }

    [Fact]
    public async Task DevelopmentIssuer_EnabledInDeployedApp_AppRefusesToStart()
    {
        await using var app = new IwrsFactory(settings: new() { ["WEBSITE_SITE_NAME"] = "iwrs-prod" });
        var e = IwrsFactory.StartupFailure(app);
        Assert.Contains("deployed app", e.Message);
    }

    [Fact]
    public async Task DevelopmentIssuer_EnabledInProductionEnvironment_AppRefusesToStart()
    {
        await using var app = new IwrsFactory(environment: "Production");
        var e = IwrsFactory.StartupFailure(app);
        Assert.Contains("runs only in Development", e.Message);
    }

    [Fact]
    public async Task Production_NoDevelopmentIssuer_TokenEndpointAbsentAndDevelopmentTokensRejected()
    {
        await using var dev = new IwrsFactory();
        var devClient = await dev.ClientFor(IwrsFactory.Admin);

        await using var prod = new IwrsFactory(environment: "Production", settings: new()
        {
            ["Auth:Development:Enabled"] = "false",
            ["Auth:Authority"] = "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0",
            ["Auth:Audience"] = "api://iwrs",
            ["Twilio:AccountSid"] = "AC" + new string('0', 32),
            ["Twilio:AuthToken"] = "test-token",
            ["Twilio:From"] = "+15550009999",
        });
        var client = prod.CreateClient();
        await ProblemAssert.IsProblem(await client.PostAsJsonAsync("/api/dev/token", new { userId = IwrsFactory.Admin }), HttpStatusCode.NotFound, "not-found");
        client.DefaultRequestHeaders.Authorization = devClient.DefaultRequestHeaders.Authorization;
        await ProblemAssert.IsProblem(await client.GetAsync("/api/studies"), HttpStatusCode.Unauthorized, "authentication-required");
    }

    [Fact]
    public async Task Production_WithoutAuthority_AppRefusesToStartListingEveryError()
    {
        await using var app = new IwrsFactory(environment: "Production", settings: new()
        {
            ["Auth:Development:Enabled"] = "false",
        });
        var e = IwrsFactory.StartupFailure(app);
        Assert.Contains("Auth:Authority is required", e.Message);
    }

    [Fact]
    public async Task Storage_BadTableName_AppRefusesToStart()
    {
        await using var app = new IwrsFactory(settings: new() { ["Storage:TableName"] = "x" });
        var e = IwrsFactory.StartupFailure(app);
        Assert.Contains("Storage:TableName", e.Message);
    }

    [Fact]
    public async Task DevelopmentToken_InvalidUserId_Is400()
    {
        await using var app = new IwrsFactory();
        using var response = await app.CreateClient().PostAsJsonAsync("/api/dev/token", new { userId = "a/b" });
        await ProblemAssert.IsProblem(response, HttpStatusCode.BadRequest, "validation-failed");
    }

    [Fact]
    public async Task DevelopmentToken_ConfiguredKey_SurvivesRestart()
    {
        var key = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        HttpClient first;
        await using (var app = new IwrsFactory(settings: new() { ["Auth:Development:SigningKey"] = key }))
        {
            first = await app.ClientFor(IwrsFactory.Admin);
        }

        await using var restarted = new IwrsFactory(settings: new() { ["Auth:Development:SigningKey"] = key });
        var client = restarted.CreateClient();
        client.DefaultRequestHeaders.Authorization = first.DefaultRequestHeaders.Authorization;
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/me")).StatusCode);
    }
}
