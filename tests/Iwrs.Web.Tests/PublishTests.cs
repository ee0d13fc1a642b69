using System.Diagnostics;
using System.Text.Json.Nodes;
using Iwrs.LocalHost;
using Iwrs.Testing;

namespace Iwrs.Web.Tests;

/// <summary>src/Iwrs.Web published once (Release, in a temporary artifacts path: the tests' own bin/ and obj/ are
/// not touched), as the deployment uploads it.</summary>
public sealed class PublishedWebApp : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("iwrs-web-publish-");

    public PublishedWebApp()
    {
        var root = AzuriteServer.RepositoryRoot();
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList =
            {
                "publish", Path.Combine(root, "src", "Iwrs.Web", "Iwrs.Web.csproj"), "-c", "Release", "--nologo",
                "-o", Path.Combine(_directory.FullName, "out"), "--artifacts-path", Path.Combine(_directory.FullName, "build"),
            },
        };
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        (ExitCode, Log) = ChildProcess.Run(start);
        WwwRoot = Path.Combine(_directory.FullName, "out", "wwwroot");
    }

    public int ExitCode { get; }

    public string Log { get; }

    public string WwwRoot { get; }

    public string Text(string path) => File.ReadAllText(Path.Combine(WwwRoot, path));

    public void Dispose() => _directory.Delete(recursive: true);
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class PublishCollection : ICollectionFixture<PublishedWebApp>
{
    public const string Name = "publish";
}

/// <summary>What the Static Web App is given: the headers with the published import map's hash, and the OIDC
/// library's script beside the page that loads it.</summary>
[Collection(PublishCollection.Name)]
public sealed class PublishTests(PublishedWebApp published)
{
    [Fact]
    public void Publish_Succeeds()
    {
        Assert.True(published.ExitCode == 0, published.Log);
    }

    [Fact]
    public void PublishedHeaders_AllowThePublishedImportMapByItsHash()
    {
        var index = published.Text("index.html");
        var hash = LocalWebApp.ImportMapHashSource(index);
        Assert.StartsWith("'sha256-", hash, StringComparison.Ordinal);

        var headers = JsonNode.Parse(published.Text("staticwebapp.config.json"))!["globalHeaders"]!;
        var csp = (string)headers["Content-Security-Policy"]!;
        Assert.Contains("script-src 'self' 'wasm-unsafe-eval' " + hash + ";", csp, StringComparison.Ordinal);
        Assert.DoesNotContain(LocalWebApp.ImportMapHashToken, csp, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'self'", csp, StringComparison.Ordinal);
        Assert.Null(headers["X-Frame-Options"]);
        Assert.StartsWith("max-age=", (string)headers["Strict-Transport-Security"]!, StringComparison.Ordinal);

        // Served as files, the precompressed copies would still hold the token.
        Assert.False(File.Exists(Path.Combine(published.WwwRoot, "staticwebapp.config.json.br")));
        Assert.False(File.Exists(Path.Combine(published.WwwRoot, "staticwebapp.config.json.gz")));
    }

    [Fact]
    public void PublishedPage_LoadsTheOidcLibrary_WhichIsPublished()
    {
        const string script = "_content/Microsoft.AspNetCore.Components.WebAssembly.Authentication/AuthenticationService.js";
        Assert.Contains($"<script src=\"{script}\"></script>", published.Text("index.html"), StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(published.WwwRoot, script)));
    }
}
