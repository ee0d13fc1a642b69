using System.Net.Http.Headers;
using System.Net.Http.Json;
using Iwrs.Functions.Auth;
using Iwrs.LocalHost;
using Iwrs.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Iwrs.Functions.Tests;

/// <summary>
/// The real app — the Functions app's function classes in the local host (the entry assembly; <see cref="LocalTimers"/>
/// only names it) — in process, on the real Azurite emulator: each factory gets its own table unless told to share
/// one (two factories on one table are two app instances on one storage account).
/// </summary>
public sealed class IwrsFactory : WebApplicationFactory<LocalTimers>
{
    public const string Admin = "admin-1";

    /// <summary>The checkpoint signing key of every app in this test process (made here, so no key is in the repository).</summary>
    public static readonly string AuditSigningKey = NewAuditSigningKey();

    /// <summary>A fresh PEM PKCS#8 ECDSA P-256 private key.</summary>
    public static string NewAuditSigningKey()
    {
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        return key.ExportPkcs8PrivateKeyPem();
    }

    private readonly Dictionary<string, string?> _settings;
    private readonly Action<IServiceCollection>? _services;

    public IwrsFactory(string? tableName = null, Dictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null, string environment = "Development")
    {
        TableName = tableName ?? AzuriteServer.UniqueTableName("it");
        Environment = environment;
        _services = services;
        _settings = new Dictionary<string, string?>
        {
            ["Storage:ConnectionString"] = AzuriteServer.Instance.ConnectionString,
            ["Storage:TableName"] = TableName,
            ["Storage:Retry:Delay"] = "00:00:00.010",
            ["Storage:Retry:MaxRetries"] = "2",
            ["Auth:Development:Enabled"] = "true",
            ["Auth:BootstrapAdministrators:0"] = Admin,
            ["Timers:RunLocally"] = "false",
            ["Audit:SigningKey"] = AuditSigningKey,
            ["Audit:CheckpointContainer"] = ("cp" + TableName.ToLowerInvariant())[..Math.Min(63, TableName.Length + 2)],
        };
        foreach (var (k, v) in settings ?? [])
        {
            _settings[k] = v;
        }
    }

    public string TableName { get; }

    /// <summary>The blob container this app keeps its signed audit checkpoints in.</summary>
    public string CheckpointContainer => _settings["Audit:CheckpointContainer"]!;

    public string Environment { get; }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment(Environment);

        // Settings go in as host configuration so that they are there before IwrsApp reads them while building.
        foreach (var (k, v) in _settings)
        {
            builder.UseSetting(k, v);
        }

        builder.ConfigureAppConfiguration(c => c.AddInMemoryCollection(_settings));
        if (_services is not null)
        {
            builder.ConfigureTestServices(_services);
        }
    }

    /// <summary>A client carrying a development token for <paramref name="userId"/>, minted by the app's own endpoint.</summary>
    public async Task<HttpClient> ClientFor(string userId)
    {
        var client = CreateClient();
        using var response = await client.PostAsJsonAsync("/api/dev/token", new { userId });
        response.EnsureSuccessStatusCode();
        var token = await response.Content.ReadFromJsonAsync<DevelopmentTokens.TokenResponse>();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token!.AccessToken);
        return client;
    }

    /// <summary>
    /// Starts the app expecting its settings to be refused; every refused section is listed in one exception
    /// (an AggregateException of OptionsValidationExceptions when more than one section is wrong). The host is built
    /// and started directly, with the factory's environment and settings: WebApplicationFactory's deferred host can
    /// surface a start-up failure as an ObjectDisposedException when the entry point's exception loses a race.
    /// </summary>
    public static Exception StartupFailure(IwrsFactory app)
    {
        var host = LocalFunctionsHost.Build(["--environment", app.Environment, "--urls", "http://127.0.0.1:0"], b => b.Configuration.AddInMemoryCollection(app._settings));
        try
        {
            var e = Assert.ThrowsAny<Exception>(() => host.StartAsync().GetAwaiter().GetResult());
            var failures = e is AggregateException a ? a.InnerExceptions : [e];
            Assert.All(failures, f => Assert.IsType<Microsoft.Extensions.Options.OptionsValidationException>(f));
            return e;
        }
        finally
        {
            ((IDisposable)host).Dispose();
        }
    }

    /// <summary>Production settings that pass validation: an Entra authority and audience, and Twilio.</summary>
    public static Dictionary<string, string?> ProductionSettings() => new()
    {
        ["Auth:Development:Enabled"] = "false",
        ["Auth:Authority"] = "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000001/v2.0",
        ["Auth:Audience"] = "api://iwrs",
        ["Twilio:AccountSid"] = "AC" + new string('0', 32),
        ["Twilio:AuthToken"] = "test-token-not-a-secret",
        ["Twilio:From"] = "+15550000000",
    };

    public static string StudyFile(string name) => File.ReadAllText(Path.Combine(AzuriteServer.RepositoryRoot(), "studies", name));

    public static StringContent Json(string json) => new(json, System.Text.Encoding.UTF8, "application/json");

    /// <summary>Loads both seed studies as the bootstrap administrator.</summary>
    public async Task LoadSeedStudies()
    {
        var admin = await ClientFor(Admin);
        foreach (var (id, file) in new[] { ("LJ-MCRC", "lj-mcrc.json"), ("AKK-MCRC", "akk-mcrc.json") })
        {
            using var response = await admin.PutAsync($"/api/studies/{id}", Json(StudyFile(file)));
            Assert.True(response.IsSuccessStatusCode, $"{id}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    public async Task Grant(string studyId, string userId, string role, string? siteId = null)
    {
        var admin = await ClientFor(Admin);
        using var response = await admin.PostAsJsonAsync($"/api/studies/{studyId}/role-assignments", new { userId, role, siteId });
        Assert.True(response.IsSuccessStatusCode, $"grant {userId} {role}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }
}
