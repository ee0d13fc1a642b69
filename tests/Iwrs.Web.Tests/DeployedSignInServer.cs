using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Iwrs.Functions.Auth;
using Iwrs.LocalHost;
using Iwrs.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Iwrs.Web.Tests;

/// <summary>
/// The app as deployed signs in: the web app in Entra mode (its <c>appsettings.json</c> names an authority, a client
/// id and the API scope, so <c>WebSettings.UsesEntra</c>) and the API with <c>Auth:Authority</c> and
/// <c>Auth:Audience</c> and no development issuer, both pointing at a real OpenID Connect provider in this process
/// (<see cref="OidcProvider"/>) instead of Entra ID. Azurite, the LJ-MCRC study and one role for the provider's user,
/// granted through the API by the setup service principal (the bootstrap administrator); a headless chromium that
/// ignores the provider's self-signed certificate, as the API's metadata client trusts it (by configuration of this
/// host, not by a product switch).
/// </summary>
public sealed class DeployedSignInServer : IAsyncLifetime
{
    public const string Study = WebAppServer.Study;
    public const string Site = WebAppServer.Site;
    public const string UserRole = "site-coordinator";

    /// <summary>Entra's sign-in origin, which the deployed CSP allows the OIDC library to fetch from and frame.</summary>
    public const string EntraOrigin = "https://login.microsoftonline.com";

    private WebApplication? _app;
    private IPlaywright? _playwright;
    private readonly HttpClient _http = new();

    public OidcProvider Provider { get; private set; } = default!;

    public string Url { get; private set; } = "";

    public IBrowser Browser { get; private set; } = default!;

    public async Task InitializeAsync()
    {
        WebAppServer.RequireChromium();

        var root = AzuriteServer.RepositoryRoot();
        Url = $"http://127.0.0.1:{AzuriteServer.FreePort()}";
        _http.BaseAddress = new Uri(Url);
        Provider = await OidcProvider.StartAsync(new Uri(Url + "/"));
        var table = AzuriteServer.UniqueTableName("oidc");
        // The Development environment only so that SMS may stay unconfigured; the development issuer is off, so the
        // API accepts the provider's tokens and nothing else.
        _app = LocalFunctionsHost.Build(["--environment", "Development", "--urls", Url, "--contentRoot", Path.Combine(root, "tools", "Iwrs.LocalHost")], builder =>
        {
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Storage:ConnectionString"] = AzuriteServer.Instance.ConnectionString,
                ["Storage:TableName"] = table,
                ["Auth:Authority"] = Provider.Authority.AbsoluteUri,
                ["Auth:Audience"] = OidcProvider.Audience,
                ["Auth:Development:Enabled"] = "false",
                ["Auth:BootstrapAdministrators:0"] = OidcProvider.SetupOid,
                ["Timers:RunLocally"] = "false",
                ["Audit:SigningKey"] = NewAuditSigningKey(),
                ["Audit:CheckpointContainer"] = "cp" + table.ToLowerInvariant(),
                ["Logging:LogLevel:Default"] = "Warning",
                // Why a token was refused (JwtBearer says it at Information), for a failed test's output.
                ["Logging:LogLevel:Microsoft.AspNetCore.Authentication"] = "Information",
            });
            // The metadata and keys come over the provider's self-signed HTTPS: this host's metadata client trusts
            // that one certificate (the product's client, still RequireHttps, configured from outside).
            builder.Services.AddHttpClient(BearerAuthentication.MetadataHttpClient).ConfigurePrimaryHttpMessageHandler(Provider.TrustingHandler);
        });

        // As the deployment writes wwwroot/appsettings.json (WEB_APPSETTINGS), here answered in place of the build's file.
        var settings = JsonSerializer.Serialize(new
        {
            Api = new { BaseUrl = "" },
            Oidc = new { Authority = Provider.Authority.AbsoluteUri, ClientId = OidcProvider.ClientId, ApiScope = OidcProvider.ApiScope },
        });
        var origin = Provider.Origin;
        _app.Use(async (context, next) =>
        {
            if (context.Request.Path == "/appsettings.json")
            {
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync(settings);
                return;
            }

            // The deployed CSP allows Entra's origin for the library's fetches and its silent-renew frame; here the
            // provider stands where Entra stands, so its origin takes Entra's place (nothing else in the policy changes).
            context.Response.OnStarting(() =>
            {
                var csp = context.Response.Headers.ContentSecurityPolicy.ToString();
                if (csp.Length > 0)
                {
                    context.Response.Headers.ContentSecurityPolicy = csp.Replace(EntraOrigin, origin, StringComparison.Ordinal);
                }

                return Task.CompletedTask;
            });
            await next(context);
        });
        _app.ServeWebApp(LocalWebApp.ManifestPathOf(typeof(DeployedSignInServer).Assembly), () => []);
        await _app.StartAsync();
        await SeedAsync();

        _playwright = await Playwright.CreateAsync();
        Browser = await WebAppServer.LaunchChromiumAsync(_playwright);
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

        if (Provider is not null)
        {
            await Provider.DisposeAsync();
        }

        _http.Dispose();
    }

    /// <summary>A new tab nobody is signed in to; the provider's self-signed certificate is accepted. Every response
    /// (status, frame, address) and console error goes to <paramref name="output"/>, which a failed test prints: a
    /// sign-in that goes round in circles shows there which answer sent it back.</summary>
    public async Task<IPage> NewPage(ITestOutputHelper output)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = Url + "/", IgnoreHTTPSErrors = true });
        context.SetDefaultTimeout(60_000);
        var page = await context.NewPageAsync();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        void Write(string line)
        {
            try
            {
                output.WriteLine($"{clock.ElapsedMilliseconds,6} ms {line}");
            }
            catch (InvalidOperationException)
            {
                // The test is over (the page outlived it).
            }
        }

        page.Response += (_, r) => Write($"{r.Status} {r.Request.Method} {(r.Frame == page.MainFrame ? "page" : "frame")} {r.Url[..Math.Min(200, r.Url.Length)]}");
        page.Console += (_, m) =>
        {
            if (m.Type is "error" or "warning")
            {
                Write($"console {m.Type}: {m.Text}");
            }
        };
        return page;
    }

    /// <summary>Sends one API request with <paramref name="token"/> as its bearer token (none when null).</summary>
    public async Task<HttpResponseMessage> Send(HttpMethod method, string path, string? token, object? body = null)
    {
        using var request = new HttpRequestMessage(method, "/api/" + path) { Content = body is null ? null : JsonContent.Create(body) };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return await _http.SendAsync(request);
    }

    /// <summary>The study, and the provider's user as site coordinator at CN01, set up as a deployment's setup script
    /// would: with the setup service principal's token from the provider.</summary>
    private async Task SeedAsync()
    {
        var token = await Provider.SetupTokenAsync();
        var study = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(AzuriteServer.RepositoryRoot(), "studies", "lj-mcrc.json"))).RootElement;
        await Ok(Send(HttpMethod.Put, $"studies/{Study}", token, study));
        await Ok(Send(HttpMethod.Post, $"studies/{Study}/role-assignments", token, new { userId = OidcProvider.UserOid, role = UserRole, siteId = Site }));
    }

    private static async Task Ok(Task<HttpResponseMessage> sending)
    {
        using var response = await sending;
        Assert.True(response.IsSuccessStatusCode, $"{response.RequestMessage!.Method} {response.RequestMessage.RequestUri}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    private static string NewAuditSigningKey()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return key.ExportPkcs8PrivateKeyPem();
    }
}

/// <summary>The deployed sign-in's tests run alone (not beside the other browser tests), reusing one browser.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DeployedSignInCollection : ICollectionFixture<DeployedSignInServer>
{
    public const string Name = "deployed sign-in";
}
