using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Iwrs.Domain.Supply;
using Iwrs.LocalHost;
using Iwrs.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Playwright;

namespace Iwrs.Web.Tests;

/// <summary>
/// The whole system as a site sees it: Azurite, the real app on a free loopback port (the local host, as the
/// launcher runs it) serving the web app from its build, both seed studies, a demo user for every role, the LJ
/// study's list generated and CN01 stocked; and a headless Debian chromium driven by Playwright. Shared by the
/// browser tests (one collection: one app, one browser).
/// </summary>
public sealed class WebAppServer : IAsyncLifetime
{
    public const string Study = "LJ-MCRC";
    public const string Site = "CN01";
    public const string Admin = "web-admin";
    public const string Chromium = "/usr/bin/chromium";

    /// <summary>The demo users (as the launcher grants them) and their roles in both studies.</summary>
    public static readonly (string User, string Role, string? Site)[] Users =
    [
        ("coordinator-cn01", "site-coordinator", Site),
        ("pharmacist-cn01", "pharmacist", Site),
        ("investigator-cn01", "unblinding-investigator", Site),
        ("study-manager", "study-manager", null),
        ("medical-monitor", "medical-monitor", null),
        ("depot-manager", "depot-manager", null),
        ("statistician", "unblinded-statistician", null),
    ];

    private WebApplication? _app;
    private IPlaywright? _playwright;
    private readonly HttpClient _http = new();

    public string Url { get; private set; } = "";

    public IBrowser Browser { get; private set; } = default!;

    public async Task InitializeAsync()
    {
        RequireChromium();

        var root = AzuriteServer.RepositoryRoot();
        Url = $"http://127.0.0.1:{AzuriteServer.FreePort()}";
        _http.BaseAddress = new Uri(Url);
        var table = AzuriteServer.UniqueTableName("web");
        _app = LocalFunctionsHost.Build(["--environment", "Development", "--urls", Url, "--contentRoot", Path.Combine(root, "tools", "Iwrs.LocalHost")], builder =>
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Storage:ConnectionString"] = AzuriteServer.Instance.ConnectionString,
                ["Storage:TableName"] = table,
                ["Auth:Development:Enabled"] = "true",
                ["Auth:BootstrapAdministrators:0"] = Admin,
                ["Timers:RunLocally"] = "false",
                ["Audit:SigningKey"] = NewAuditSigningKey(),
                ["Audit:CheckpointContainer"] = "cp" + table.ToLowerInvariant(),
                ["Logging:LogLevel:Default"] = "Warning",
            }));
        _app.ServeWebApp(LocalWebApp.ManifestPathOf(typeof(WebAppServer).Assembly),
            () => [.. Users.Select(u => new DemoUser(u.User, u.Role + (u.Site is null ? "" : " at " + u.Site)))]);
        await _app.StartAsync();
        await SeedAsync();

        _playwright = await Playwright.CreateAsync();
        Browser = await LaunchChromiumAsync(_playwright);
    }

    /// <summary>A missing browser fails every browser test with this message; nothing is skipped.</summary>
    public static void RequireChromium()
    {
        if (!File.Exists(Chromium))
        {
            throw new InvalidOperationException($"{Chromium} is missing: install Debian's chromium package (apt-get install -y chromium); .ci/run does this itself.");
        }
    }

    /// <summary>Debian's headless chromium as every browser fixture here drives it.</summary>
    public static async Task<IBrowser> LaunchChromiumAsync(IPlaywright playwright)
    {
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        // A ceiling, not a pause: the auto-waiting locators return as soon as the page is there. The web app boots
        // the .NET runtime in the page, which on a busy 2-core machine takes a while.
        Assertions.SetDefaultExpectTimeout(60_000);
        return browser;
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        _http.Dispose();
    }

    /// <summary>A new browser tab signed in as <paramref name="userId"/> (its development token in session storage,
    /// as the sign-in page leaves it), at a phone's or a desktop's width.</summary>
    public async Task<IPage> PageFor(string userId, bool phone = false)
    {
        var token = await TokenAsync(userId);
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = Url + "/",
            ViewportSize = phone ? new ViewportSize { Width = 390, Height = 844 } : new ViewportSize { Width = 1280, Height = 900 },
        });
        context.SetDefaultTimeout(60_000);
        await context.AddInitScriptAsync($"window.sessionStorage.setItem('iwrs.dev-token', {JsonSerializer.Serialize(token)});");
        return await context.NewPageAsync();
    }

    /// <summary>A tab nobody is signed in to.</summary>
    public async Task<IPage> AnonymousPage()
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = Url + "/" });
        context.SetDefaultTimeout(60_000);
        return await context.NewPageAsync();
    }

    /// <summary>Opens a path and waits until its reads are done (the layout's <c>data-ready</c>).</summary>
    public static async Task Open(IPage page, string path)
    {
        await page.GotoAsync(path);
        await Assertions.Expect(page.Locator("main[data-ready=true]")).ToBeVisibleAsync();
    }

    public async Task<string> TokenAsync(string userId)
    {
        using var response = await _http.PostAsJsonAsync("/api/dev/token", new { userId });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accessToken").GetString()!;
    }

    /// <summary>Calls the API as <paramref name="userId"/> and returns the body; a failure fails the test with the answer.</summary>
    public async Task<JsonElement> Api(string userId, HttpMethod method, string path, object? body = null)
    {
        using var request = new HttpRequestMessage(method, "/api/" + path) { Content = body is null ? null : JsonContent.Create(body) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await TokenAsync(userId));
        using var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{userId} {method} {path}: {(int)response.StatusCode} {text}");
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Creates and dispatches a shipment to CN01 (one kit of each type per count); returns its id and kit numbers.</summary>
    public async Task<(string Id, IReadOnlyList<string> Kits)> DispatchShipment(int perType)
    {
        var shipment = await Api("depot-manager", HttpMethod.Post, $"studies/{Study}/shipments", new { siteId = Site, kits = new Dictionary<string, int> { ["LJ-CAPS"] = perType, ["PBO-CAPS"] = perType } });
        var id = shipment.GetProperty("shipmentId").GetString()!;
        await Api("depot-manager", HttpMethod.Post, $"studies/{Study}/shipments/{id}/dispatch");
        return (id, [.. shipment.GetProperty("kits").EnumerateArray().Select(k => k.GetProperty("kitNumber").GetString()!)]);
    }

    /// <summary>A kit number as a depot would print it: random, saying nothing about the kit's type.</summary>
    public static string KitNumber() => new(RandomNumberGenerator.GetItems<char>("ABCDEFGHJKLMNPQRSTUVWXYZ23456789", 8));

    private async Task SeedAsync()
    {
        var root = AzuriteServer.RepositoryRoot();
        foreach (var file in Directory.GetFiles(Path.Combine(root, "studies"), "*.json").Order(StringComparer.Ordinal))
        {
            var json = JsonDocument.Parse(await File.ReadAllTextAsync(file)).RootElement;
            var studyId = json.GetProperty("studyId").GetString()!;
            await Api(Admin, HttpMethod.Put, $"studies/{studyId}", json);
            foreach (var (user, role, site) in Users)
            {
                await Api(Admin, HttpMethod.Post, $"studies/{studyId}/role-assignments", new { userId = user, role, siteId = site });
            }
        }

        await Api("statistician", HttpMethod.Post, $"studies/{Study}/randomization-list/generate", new { slotsPerStratum = 24 });
        List<object> kits;
        do
        {
            kits = [.. new[] { "LJ-CAPS", "PBO-CAPS" }.SelectMany(t => Enumerable.Range(0, 40).Select(_ => new KitRowBody(KitNumber(), t, "LOT-MIX", "2029-06-30")))];
        }
        while (KitImport.LooksOrderedByType([.. kits.Cast<KitRowBody>().Select(k => new Kit(k.kitNumber, k.kitType, k.lot, DateOnly.MaxValue, KitStatus.AtDepot, Kit.Depot, null, null, null))]));
        await Api("depot-manager", HttpMethod.Post, $"studies/{Study}/kits/import", new { kits });

        // CN01's first stock: shipped, dispatched and received in good condition, so subjects can be randomized.
        var (id, numbers) = await DispatchShipment(6);
        await Api("pharmacist-cn01", HttpMethod.Post, $"studies/{Study}/shipments/{id}/receive", new { kits = numbers.Select(n => new { kitNumber = n, condition = "ok" }) });
    }

    private static string NewAuditSigningKey()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return key.ExportPkcs8PrivateKeyPem();
    }

#pragma warning disable IDE1006 // Lower-case members: they are the JSON body's names.
    private sealed record KitRowBody(string kitNumber, string kitType, string lot, string expiry);
#pragma warning restore IDE1006
}

[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<WebAppServer>
{
    public const string Name = "browser";
}
