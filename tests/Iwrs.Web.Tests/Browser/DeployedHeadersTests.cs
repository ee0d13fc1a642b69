using System.Text.Json.Nodes;
using Iwrs.LocalHost;
using Iwrs.Testing;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Iwrs.Web.Tests.Browser;

/// <summary>The app under the headers the Static Web App sends (staticwebapp.config.json's globalHeaders, which the
/// local host sends too): the CSP is there and nothing the app does breaks it; API answers are not kept in the
/// browser's cache; the OIDC library's script is served; the development sign-out still works.</summary>
[Collection(BrowserCollection.Name)]
public sealed class DeployedHeadersTests(WebAppServer web)
{
    /// <summary>Records every CSP violation the page reports (an inline script, a style, a connection it blocked).</summary>
    private const string RecordViolations =
        "window.__csp = []; document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' at ' + e.sourceFile));";

    /// <summary>The one report expected: the OIDC library's bundle probes for the global object with
    /// <c>new Function("return this")</c> inside a try and falls back to <c>window</c> when the CSP refuses it.</summary>
    private const string LibraryGlobalProbe = "script-src eval at ";

    private static async Task<string[]> Violations(IPage page) =>
        [.. (await page.EvaluateAsync<string[]>("window.__csp")).Where(v => !(v.StartsWith(LibraryGlobalProbe, StringComparison.Ordinal)
            && v.EndsWith("/_content/Microsoft.AspNetCore.Components.WebAssembly.Authentication/AuthenticationService.js", StringComparison.Ordinal)))];

    [Fact]
    public async Task App_RunsUnderTheDeployedCsp_SignInPagesAndSignOut_WithNoViolation()
    {
        var page = await web.AnonymousPage();
        await page.Context.AddInitScriptAsync(RecordViolations);

        var document = await page.GotoAsync("");
        var headers = await document!.AllHeadersAsync();
        var config = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(AzuriteServer.RepositoryRoot(), "src", "Iwrs.Web", "wwwroot", "staticwebapp.config.json")))!;
        var csp = headers["content-security-policy"];
        Assert.Contains("script-src 'self' 'wasm-unsafe-eval' 'sha256-", csp, StringComparison.Ordinal);
        Assert.DoesNotContain(LocalWebApp.ImportMapHashToken, csp, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'self'", csp, StringComparison.Ordinal);
        Assert.Equal((string)config["globalHeaders"]!["Strict-Transport-Security"]!, headers["strict-transport-security"]);
        Assert.False(headers.ContainsKey("x-frame-options"), "X-Frame-Options: DENY would block the OIDC library's silent-renew frame");

        // The page boots (its import map allowed by its hash), signs in and opens pages with inline style attributes.
        await page.GetByRole(AriaRole.Button, new() { Name = "coordinator-cn01" }).ClickAsync();
        await Expect(page.GetByTestId("user")).ToHaveTextAsync("coordinator-cn01");
        Assert.NotEqual("undefined", await page.EvaluateAsync<string>("typeof window.AuthenticationService"));
        await WebAppServer.Open(page, $"studies/{WebAppServer.Study}/sites/{WebAppServer.Site}/subjects");

        var manager = await web.PageFor("study-manager");
        await manager.Context.AddInitScriptAsync(RecordViolations);
        await WebAppServer.Open(manager, $"studies/{WebAppServer.Study}/enrolment");
        Assert.Empty(await Violations(manager));

        // The development sign-out (the layout's link) still ends the session.
        await page.GetByRole(AriaRole.Link, new() { Name = "Sign out" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Signed out" })).ToBeVisibleAsync();
        Assert.Null(await page.EvaluateAsync<string?>("window.sessionStorage.getItem('iwrs.dev-token')"));

        Assert.Empty(await Violations(page));
    }

    [Fact]
    public async Task ApiRequests_AreFetchedWithNoStore_TheBrowserAddsNoCache()
    {
        var page = await web.PageFor("coordinator-cn01");
        var me = page.WaitForRequestAsync(r => r.Url.EndsWith("/api/me", StringComparison.Ordinal));
        await WebAppServer.Open(page, "");
        var headers = await (await me).AllHeadersAsync();
        // fetch(…, { cache: 'no-store' }) is sent with Cache-Control: no-cache and Pragma: no-cache (Fetch standard).
        Assert.Equal("no-cache", headers.GetValueOrDefault("cache-control"));
        Assert.Equal("no-cache", headers.GetValueOrDefault("pragma"));
        Assert.StartsWith("Bearer ", headers["authorization"], StringComparison.Ordinal);
    }
}
