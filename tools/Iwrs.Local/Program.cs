using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Iwrs.Azurite;
using Iwrs.Functions.Notifications;
using Iwrs.LocalHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

// The local run of the whole system: Azurite (data kept in .local/azurite-layout2 between runs), the app with the
// development token issuer, both seed studies loaded through the real API, and a demo user for every role.

var root = AzuriteEmulator.RepositoryRoot();
var appPort = Setting("IWRS_PORT", 7071);
var storagePort = Setting("IWRS_STORAGE_PORT", 10002);
var blobPort = Setting("IWRS_BLOB_PORT", 10000);
var appUrl = $"http://127.0.0.1:{appPort}";
var local = Directory.CreateDirectory(Path.Combine(root, ".local")).FullName;

using var azurite = await StartAzuriteAsync(root, local, storagePort, blobPort);
var signingKey = DevelopmentSigningKey(local);
var auditKeyFile = AuditSigningKeyFile(local);

const string admin = "dev-admin";
var app = LocalFunctionsHost.Build(["--environment", "Development", "--urls", appUrl, "--contentRoot", Path.Combine(root, "tools", "Iwrs.LocalHost")], builder =>
    builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
    {
        ["Storage:ConnectionString"] = azurite.ConnectionString,
        ["Auth:Development:Enabled"] = "true",
        ["Auth:Development:SigningKey"] = signingKey,
        ["Auth:BootstrapAdministrators:0"] = admin,
        ["Audit:SigningKey"] = File.ReadAllText(auditKeyFile),
    }));
var demoUsers = new List<DemoUser>();
app.ServeWebApp(LocalWebApp.ManifestPathOf(System.Reflection.Assembly.GetEntryAssembly()!), () => demoUsers);
await app.StartAsync();

using var http = new HttpClient { BaseAddress = new Uri(appUrl) };
var adminToken = await TokenAsync(http, admin);
http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);

var loaded = new List<string>();
foreach (var file in Directory.GetFiles(Path.Combine(root, "studies"), "*.json").Order(StringComparer.Ordinal))
{
    var json = await File.ReadAllTextAsync(file);
    var studyId = JsonDocument.Parse(json).RootElement.GetProperty("studyId").GetString()!;
    using var response = await http.PutAsync($"/api/studies/{studyId}", new StringContent(json, Encoding.UTF8, "application/json"));
    var body = await response.Content.ReadAsStringAsync();
    if (!response.IsSuccessStatusCode)
    {
        throw new InvalidOperationException($"Loading {Path.GetFileName(file)} failed: {(int)response.StatusCode} {body}");
    }

    loaded.Add($"{studyId} ({JsonDocument.Parse(body).RootElement.GetProperty("outcome").GetString()}, from studies/{Path.GetFileName(file)})");
}

// One demo user per role; site roles at the first site. Granting again is a no-op, so restarts change nothing.
(string User, string Role, string? Site)[] demo =
[
    ("coordinator-cn01", "site-coordinator", "CN01"),
    ("pharmacist-cn01", "pharmacist", "CN01"),
    ("investigator-cn01", "unblinding-investigator", "CN01"),
    ("study-manager", "study-manager", null),
    ("medical-monitor", "medical-monitor", null),
    ("depot-manager", "depot-manager", null),
    ("statistician", "unblinded-statistician", null),
];
var studyIds = loaded.Select(l => l.Split(' ')[0]).ToList();
var rolesByUser = new SortedDictionary<string, List<string>>(StringComparer.Ordinal) { [admin] = ["administrator (all studies)"] };
foreach (var studyId in studyIds)
{
    foreach (var (user, role, site) in demo)
    {
        using var response = await http.PostAsJsonAsync($"/api/studies/{studyId}/role-assignments", new { userId = user, role, siteId = site });
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"Granting {role} to {user} in {studyId} failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }

        if (!rolesByUser.TryGetValue(user, out var list))
        {
            rolesByUser[user] = list = [];
        }

        list.Add($"{studyId} {role}{(site is null ? string.Empty : " at " + site)}");
    }
}

demoUsers.AddRange(rolesByUser.Select(u => new DemoUser(u.Key, string.Join("; ", u.Value))));
var tokens = new StringBuilder();
foreach (var user in rolesByUser.Keys)
{
    tokens.AppendLine(CultureInfo.InvariantCulture, $"{user}\t{await TokenAsync(http, user)}");
}

var tokenFile = Path.Combine(local, "dev-tokens.txt");
await File.WriteAllTextAsync(tokenFile, tokens.ToString());

Console.WriteLine();
Console.WriteLine($"Iwrs is running at {appUrl}   (Ctrl+C stops it and Azurite)");
Console.WriteLine($"  web app:  {appUrl}/   (sign in as any demo user below)");
Console.WriteLine($"  health:   {appUrl}/api/health");
Console.WriteLine($"  OpenAPI:  {appUrl}/api/openapi/v1.json");
Console.WriteLine($"  storage:  Azurite on 127.0.0.1:{storagePort} (tables) and {blobPort} (blobs), data kept in .local/azurite-layout2");
Console.WriteLine($"  audit:    checkpoints signed with {Path.GetRelativePath(root, auditKeyFile)}; public keys at {appUrl}/api/audit/signing-keys");
Console.WriteLine($"  studies:  {string.Join("; ", loaded)}");
Console.WriteLine(app.Services.GetRequiredService<ISmsSender>().Provider == "twilio"
    ? "  SMS:      sent through Twilio; the log names each by id and recipient role, never its text or number"
    : "  SMS:      none is sent (Twilio is not configured); the log names each by id and recipient role, never its text or number");
Console.WriteLine();
Console.WriteLine("Development users (get a token for any of them; tokens last 12 hours and survive restarts):");
foreach (var (user, roles) in rolesByUser)
{
    Console.WriteLine($"  {user,-18} {string.Join("; ", roles)}");
}

Console.WriteLine();
Console.WriteLine($"  TOKEN=$(curl -s -X POST {appUrl}/api/dev/token -H 'Content-Type: application/json' -d '{{\"userId\":\"coordinator-cn01\"}}' | sed 's/.*\"accessToken\":\"\\([^\"]*\\)\".*/\\1/')");
Console.WriteLine($"  curl -H \"Authorization: Bearer $TOKEN\" {appUrl}/api/studies");
Console.WriteLine($"  (a ready token for every user is in {Path.GetRelativePath(root, tokenFile)})");
Console.WriteLine();

await app.WaitForShutdownAsync();
return 0;

static async Task<string> TokenAsync(HttpClient http, string userId)
{
    using var response = await http.PostAsJsonAsync("/api/dev/token", new { userId });
    response.EnsureSuccessStatusCode();
    return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accessToken").GetString()!;
}

static int Setting(string name, int fallback) =>
    int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : fallback;

// A development signing key kept in .local so tokens survive restarts; never used outside Development.
static string DevelopmentSigningKey(string local)
{
    var path = Path.Combine(local, "dev-signing-key");
    if (!File.Exists(path))
    {
        File.WriteAllText(path, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
    }

    return File.ReadAllText(path).Trim();
}

// The audit checkpoint signing key (PEM PKCS#8 ECDSA P-256), made once and kept in .local so checkpoints written
// before a restart still verify after it. In Azure the key is the Key Vault secret audit-signing-key.
static string AuditSigningKeyFile(string local)
{
    var path = Path.Combine(local, "audit-signing-key.pem");
    if (!File.Exists(path))
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using var file = new StreamWriter(path, Encoding.ASCII, options);
        file.Write(key.ExportPkcs8PrivateKeyPem());
    }

    return path;
}

static async Task<AzuriteEmulator> StartAzuriteAsync(string root, string local, int port, int blobPort)
{
    if (AzuriteEmulator.Answers(port))
    {
        Console.WriteLine($"Something already listens on 127.0.0.1:{port}; using it as Azurite (blobs on {blobPort}).");
        return AzuriteEmulator.Existing(port, blobPort);
    }

    return await AzuriteEmulator.StartAsync(new AzuriteOptions
    {
        RepositoryRoot = root,
        // Versioned by the table layout: rows an older layout kept (e.g. the audit head before the state| rows) would
        // not be found by this one, so an upgrade starts from a fresh emulator instead of a half-understood table.
        DataDirectory = Path.Combine(local, "azurite-layout2"),
        Port = port,
        BlobPort = blobPort,
        InstallIfMissing = true,
        Silent = true,
        ForwardErrors = true,
    });
}
