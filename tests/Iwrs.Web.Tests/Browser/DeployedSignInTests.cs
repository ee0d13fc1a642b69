using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Iwrs.Web.Tests.Browser;

/// <summary>
/// The deployed sign-in end to end in chromium, against a real OpenID Connect provider in place of Entra ID: the
/// web app's OIDC library (authorization code with PKCE) gets a token the API's JwtBearer accepts, the page shows
/// what the API returns for that user, and signing out goes through the provider's end-session endpoint.
/// </summary>
[Collection(DeployedSignInCollection.Name)]
public sealed class DeployedSignInTests(DeployedSignInServer server, ITestOutputHelper output)
{
    private string AuthorizeUrl => server.Provider.Origin + OidcProvider.AuthorizePath;

    [Fact]
    public async Task SignIn_CodeWithPkceAtTheProvider_TheApiAcceptsTheTokenAndThePageShowsTheUsersRoles()
    {
        var page = await server.NewPage(output);
        var document = await page.GotoAsync("signin");
        // The deployed CSP, with the provider where Entra's origin stands: everything below ran under it.
        var csp = (await document!.AllHeadersAsync())["content-security-policy"];
        Assert.Contains($"connect-src 'self' https://*.azurewebsites.net {server.Provider.Origin}", csp, StringComparison.Ordinal);

        var authorize = page.WaitForRequestAsync(r => IsInteractiveAuthorize(page, r));
        var token = page.WaitForRequestAsync(r => r.Method == "POST" && r.Url == server.Provider.Origin + OidcProvider.TokenPath);
        var callback = page.WaitForRequestAsync(r => r.IsNavigationRequest && r.Frame == page.MainFrame
            && r.Url.StartsWith(server.Url + "/authentication/login-callback?", StringComparison.Ordinal));
        var me = page.WaitForRequestAsync(r => r.Frame == page.MainFrame && r.Url == server.Url + "/api/me");
        await page.GetByRole(AriaRole.Link, new() { Name = "Sign in with Microsoft Entra ID" }).ClickAsync();

        // Authorization code with PKCE: the challenge is S256 of the verifier the token request then proves.
        var request = QueryHelpers.ParseQuery(new Uri((await authorize).Url).Query);
        Assert.Equal("code", request["response_type"]);
        Assert.Equal(OidcProvider.ClientId, request["client_id"]);
        Assert.Equal(server.Url + "/authentication/login-callback", request["redirect_uri"]);
        Assert.Contains(OidcProvider.ApiScope, request["scope"].ToString().Split(' '));
        Assert.Equal("S256", request["code_challenge_method"]);
        var exchange = QueryHelpers.ParseQuery((await token).PostData);
        Assert.Equal("authorization_code", exchange["grant_type"]);
        Assert.Equal(request["code_challenge"], Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(exchange["code_verifier"].ToString()))));
        Assert.Contains("code=", (await callback).Url, StringComparison.Ordinal);

        // The page shows what the API answered that user: the provider's oid, and the role granted to it.
        await Expect(page.GetByTestId("user")).ToHaveTextAsync(OidcProvider.UserOid);
        var study = page.Locator("section.card").Filter(new() { Has = page.GetByRole(AriaRole.Heading, new() { Name = DeployedSignInServer.Study }) });
        await Expect(study).ToContainTextAsync($"Site coordinator at {DeployedSignInServer.Site}");

        // The bearer token the page sent: a signed JWT for the API with the user's oid and the API scope.
        var bearer = (await (await me).AllHeadersAsync())["authorization"];
        Assert.StartsWith("Bearer ", bearer, StringComparison.Ordinal);
        var accessToken = bearer["Bearer ".Length..];
        var jwt = new JsonWebTokenHandler().ReadJsonWebToken(accessToken);
        Assert.Equal(server.Provider.Authority.AbsoluteUri, jwt.Issuer);
        Assert.Equal([OidcProvider.Audience], jwt.Audiences);
        Assert.Equal(OidcProvider.UserOid, jwt.GetClaim("oid").Value);
        Assert.Contains(OidcProvider.ApiScope, jwt.GetClaim("scope").Value.Split(' '));
        Assert.NotEqual("none", jwt.Alg);

        // The API itself: that token is accepted; none, or the same token claiming another oid, is refused.
        using (var accepted = await server.Send(HttpMethod.Get, "me", accessToken))
        {
            Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
            Assert.Equal(OidcProvider.UserOid, (await accepted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("userId").GetString());
        }

        using (var anonymous = await server.Send(HttpMethod.Get, "me", null))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        }

        foreach (var tampered in new[] { WithOid(accessToken, OidcProvider.SetupOid), WithSignatureFlipped(accessToken) })
        {
            using var refused = await server.Send(HttpMethod.Get, "me", tampered);
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task SignOut_ThroughTheProvidersEndSessionEndpoint_TheApiDataIsNoLongerShown()
    {
        var page = await server.NewPage(output);
        await page.GotoAsync("signin");
        await page.GetByRole(AriaRole.Link, new() { Name = "Sign in with Microsoft Entra ID" }).ClickAsync();
        await Expect(page.GetByTestId("user")).ToHaveTextAsync(OidcProvider.UserOid);

        var endSession = page.WaitForRequestAsync(r => r.IsNavigationRequest && r.Frame == page.MainFrame
            && r.Url.StartsWith(server.Provider.Origin + OidcProvider.EndSessionPath + "?", StringComparison.Ordinal));
        await page.GetByRole(AriaRole.Link, new() { Name = "Sign out" }).ClickAsync();
        var request = QueryHelpers.ParseQuery(new Uri((await endSession).Url).Query);
        Assert.Equal(server.Url + "/authentication/logout-callback", request["post_logout_redirect_uri"]);
        Assert.False(string.IsNullOrEmpty(request["id_token_hint"]), "the library names the session it ends");

        // Back from the provider: signed out, no user, no token kept in the tab.
        await Expect(page).ToHaveURLAsync(server.Url + "/authentication/logged-out");
        await Expect(page.GetByTestId("user")).ToHaveCountAsync(0);
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = DeployedSignInServer.Study })).ToHaveCountAsync(0);
        Assert.DoesNotContain(await page.EvaluateAsync<string[]>("Object.keys(sessionStorage)"), k => k.StartsWith("oidc.user:", StringComparison.Ordinal));

        // Opening the app again sends the browser to the provider to sign in (stopped there) and reads nothing from
        // the API with a token on the way.
        var api = new List<IRequest>();
        page.Request += (_, r) =>
        {
            if (r.Url.StartsWith(server.Url + "/api/", StringComparison.Ordinal))
            {
                api.Add(r);
            }
        };
        await page.RouteAsync(url => url.StartsWith(AuthorizeUrl + "?", StringComparison.Ordinal), route =>
            route.Request.Url.Contains("prompt=none", StringComparison.Ordinal)
                ? route.ContinueAsync()
                : route.FulfillAsync(new() { Status = 200, ContentType = "text/html", Body = "<!doctype html><title>Provider</title><h1>Sign in at the provider</h1>" }));
        await page.GotoAsync("");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Sign in at the provider" })).ToBeVisibleAsync();
        Assert.DoesNotContain(api, r => r.Headers.ContainsKey("authorization"));
        await page.Context.CloseAsync();
    }

    /// <summary>The top-level authorize request (not the library's silent one in a hidden frame).</summary>
    private bool IsInteractiveAuthorize(IPage page, IRequest request) =>
        request.IsNavigationRequest && request.Frame == page.MainFrame && request.Url.StartsWith(AuthorizeUrl + "?", StringComparison.Ordinal);

    /// <summary>The token with its payload's <c>oid</c> replaced, the signature left as it was.</summary>
    private static string WithOid(string token, string oid)
    {
        var parts = token.Split('.');
        var payload = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(Base64UrlEncoder.DecodeBytes(parts[1]))!;
        payload["oid"] = JsonSerializer.SerializeToElement(oid);
        payload["sub"] = JsonSerializer.SerializeToElement(oid);
        parts[1] = Base64UrlEncoder.Encode(JsonSerializer.SerializeToUtf8Bytes(payload));
        return string.Join('.', parts);
    }

    /// <summary>The token with one bit of its signature changed.</summary>
    private static string WithSignatureFlipped(string token)
    {
        var parts = token.Split('.');
        var signature = Base64UrlEncoder.DecodeBytes(parts[2]);
        signature[0] ^= 1;
        parts[2] = Base64UrlEncoder.Encode(signature);
        return string.Join('.', parts);
    }
}
