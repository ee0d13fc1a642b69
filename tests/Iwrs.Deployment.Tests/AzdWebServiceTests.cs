using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Iwrs.Testing;
using YamlDotNet.RepresentationModel;

namespace Iwrs.Deployment.Tests;

/// <summary>azure.yaml's services and the template agree, and the web service is built the way azd builds it.</summary>
public sealed class AzdWebServiceTests(CompiledInfra infra) : IClassFixture<CompiledInfra>
{
    private static string Text(YamlNode node, string key) => (string)((YamlMappingNode)node)[key]!;

    /// <summary>With swa-cli.config.json in the service's project azd builds and uploads with the SWA CLI
    /// (azure-dev cli/azd/pkg/project/service_manager.go, GetFrameworkService: ContainsSwaConfig(serviceConfig.Path())).</summary>
    [Fact]
    public void AzureYaml_WebService_IsTheWebProjectOnAStaticWebApp_BuiltByTheSwaCli()
    {
        var web = AzdWebService.Services["web"];

        Assert.Equal("./src/Iwrs.Web", Text(web, "project"));
        Assert.Equal("staticwebapp", Text(web, "host"));
        Assert.Equal("custom", Text(web, "language"));
        var project = Path.Combine(AzdWebService.Root, Text(web, "project"));
        Assert.True(File.Exists(Path.Combine(project, "Iwrs.Web.csproj")));
        Assert.True(File.Exists(Path.Combine(project, "swa-cli.config.json")));
        Assert.False(((YamlMappingNode)web).Children.ContainsKey("dist"), "dist is not read on the SWA CLI path: the outputLocation is");
    }

    [Fact]
    public void AzureYaml_WebService_WritesItsSettingsBeforeItsBuild_OnEitherPlatform()
    {
        var prebuild = (YamlMappingNode)((YamlMappingNode)((YamlMappingNode)AzdWebService.Services["web"])["hooks"])["prebuild"];
        var project = Path.Combine(AzdWebService.Root, "src", "Iwrs.Web");

        Assert.Equal("sh", Text(prebuild["posix"], "shell"));
        Assert.Equal(Path.Combine(AzdWebService.Root, "tools", "web-settings.sh"), Path.GetFullPath(Path.Combine(project, Text(prebuild["posix"], "run"))));
        Assert.Equal("pwsh", Text(prebuild["windows"], "shell"));
        Assert.True(File.Exists(Path.GetFullPath(Path.Combine(project, Text(prebuild["windows"], "run")))));
    }

    /// <summary>azd's own up packages while it provisions (cli/azd/internal/cmd/up_graph.go): the web app's build
    /// needs the provisioned WEB_APPSETTINGS, so the workflow provisions first.</summary>
    [Fact]
    public void AzureYaml_Up_ProvisionsBeforeItDeploys()
    {
        var steps = (YamlSequenceNode)((YamlMappingNode)((YamlMappingNode)AzdWebService.AzureYaml["workflows"])["up"])["steps"];

        Assert.Equal(["provision", "deploy --all"], steps.Select(s => Text(s, "azd")));
    }

    /// <summary>azd finds a service's resource by the tag azd-service-name = the service's name.</summary>
    [Theory]
    [InlineData("api", "function", "Microsoft.Web/sites")]
    [InlineData("web", "staticwebapp", "Microsoft.Web/staticSites")]
    public void Template_TagsEachServicesResource_WithTheServicesName(string service, string host, string resourceType)
    {
        Assert.Equal(host, Text(AzdWebService.Services[service], "host"));

        var tagged = infra.Snapshot.Resources.Where(r => (string?)r["tags"]?["azd-service-name"] == service).ToList();

        Assert.Equal(resourceType, (string?)Assert.Single(tagged)["type"]);
    }

    [Fact]
    public void Template_WebAppSettingsOutput_IsAnObject()
    {
        var output = infra.Template["outputs"]![AzdWebService.SettingsOutput]!;

        Assert.Equal("object", (string?)output["type"]);
    }

    /// <summary>The SWA CLI uploads outputLocation and takes the staticwebapp.config.json it finds under
    /// swaConfigLocation (static-web-apps-cli src/cli/commands/deploy/deploy.ts; without it, it searches the app's
    /// source, where the file still holds the hash's placeholder). azd leaves the environment to this file.</summary>
    [Fact]
    public void SwaCliConfig_UploadsThePublishedWwwroot_WithItsHeaders_ToProduction()
    {
        var configuration = AzdWebService.SwaConfiguration(Path.Combine(AzdWebService.Root, "src", "Iwrs.Web"));
        var arguments = AzdWebService.BuildArguments(configuration);
        var wwwroot = AzdWebService.PublishDirectory(arguments) + "/wwwroot";

        Assert.Equal(".", (string?)configuration["appLocation"]);
        Assert.Equal(["dotnet", "publish", "-c", "Release"], arguments.Take(4));
        Assert.Equal(wwwroot, (string?)configuration["outputLocation"]);
        Assert.Equal(wwwroot, (string?)configuration["swaConfigLocation"]);
        Assert.Equal("production", (string?)configuration["env"]);
    }
}

/// <summary>tools/web-settings.sh, run against a temporary service directory.</summary>
public sealed class WebSettingsHookTests : IDisposable
{
    private readonly DirectoryInfo _service = Directory.CreateTempSubdirectory("iwrs-web-hook-");

    private readonly IReadOnlyList<string> _build = AzdWebService.BuildArguments(AzdWebService.SwaConfiguration(Path.Combine(AzdWebService.Root, "src", "Iwrs.Web")));

    public void Dispose() => _service.Delete(recursive: true);

    [Fact]
    public void Hook_WithWebAppSettings_WritesExactlyThem_WhereTheBuildReadsThem_AndClearsThePreviousOutput()
    {
        // What a shell or printf could alter: escapes, format directives, expansions, quotes, non-ASCII, no final newline.
        const string value = """{"Api":{"BaseUrl":"https://func-x.azurewebsites.net"},"Oidc":{"Authority":"https://login.microsoftonline.com/t/v2.0","ClientId":"c","ApiScope":"api://a/access_as_user"},"Odd":"%s \\n $HOME `x` 'q' é"}""";
        var stale = Path.Combine(_service.FullName, AzdWebService.PublishDirectory(_build), "wwwroot", "_framework", "old.js");
        Directory.CreateDirectory(Path.GetDirectoryName(stale)!);
        File.WriteAllText(stale, "old");

        var (exitCode, log) = AzdWebService.RunSettingsHook(_service.FullName, value);

        Assert.True(exitCode == 0, log);
        Assert.Equal(Encoding.UTF8.GetBytes(value), File.ReadAllBytes(Path.Combine(_service.FullName, AzdWebService.SettingsFile(_build))));
        Assert.False(Directory.Exists(Path.Combine(_service.FullName, AzdWebService.PublishDirectory(_build))));
        Assert.Single(Directory.EnumerateFiles(_service.FullName, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public void Hook_WithoutWebAppSettings_FailsAndWritesNothing()
    {
        var (exitCode, log) = AzdWebService.RunSettingsHook(_service.FullName, webAppSettings: null);

        Assert.NotEqual(0, exitCode);
        Assert.Contains(AzdWebService.SettingsOutput, log, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_service.FullName));
    }
}

/// <summary>
/// The web service built as azd builds it, into a temporary directory: the hook, then swa-cli.config.json's build
/// command with its relative paths rooted there (and a temporary artifacts path: the project's bin/ and obj/ are not
/// touched). WEB_APPSETTINGS is the template's output with its values replaced by stand-ins.
/// </summary>
public sealed class AzdWebBuild : IDisposable
{
    private readonly DirectoryInfo _service = Directory.CreateTempSubdirectory("iwrs-azd-web-");

    public AzdWebBuild()
    {
        var project = Path.Combine(AzdWebService.Root, "src", "Iwrs.Web");
        Configuration = AzdWebService.SwaConfiguration(project);
        var arguments = AzdWebService.BuildArguments(Configuration);

        var output = InfraSnapshot.CompileMain()["outputs"]![AzdWebService.SettingsOutput]!["value"]!.DeepClone();
        WebAppSettings = StandIns(output).ToJsonString();
        DevelopmentSettings = File.ReadAllBytes(Path.Combine(project, "wwwroot", "appsettings.json"));

        var (hookExit, hookLog) = AzdWebService.RunSettingsHook(_service.FullName, WebAppSettings);
        var start = new ProcessStartInfo(arguments[0]) { WorkingDirectory = project };
        foreach (var a in arguments.Skip(1))
        {
            start.ArgumentList.Add(a switch
            {
                _ when a == AzdWebService.PublishDirectory(arguments) => Path.Combine(_service.FullName, a),
                _ when a.StartsWith("-p:IwrsAppSettings=", StringComparison.Ordinal) => "-p:IwrsAppSettings=" + Path.Combine(_service.FullName, AzdWebService.SettingsFile(arguments)),
                _ => a,
            });
        }

        start.ArgumentList.Add("--nologo");
        start.ArgumentList.Add("--artifacts-path");
        start.ArgumentList.Add(Path.Combine(Path.GetTempPath(), _service.Name + "-build"));
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        var (buildExit, buildLog) = hookExit == 0 ? ChildProcess.Run(start) : (-1, "hook failed");
        ExitCode = hookExit == 0 ? buildExit : hookExit;
        Log = hookLog + buildLog;
    }

    public JsonObject Configuration { get; }

    public string WebAppSettings { get; }

    public byte[] DevelopmentSettings { get; }

    public int ExitCode { get; }

    public string Log { get; }

    /// <summary>A path as the SWA CLI resolves it: relative to the app location (here, the temporary service directory).</summary>
    public string Resolve(string key) => Path.Combine(_service.FullName, (string)Configuration[key]!);

    public void Dispose()
    {
        _service.Delete(recursive: true);
        var build = Path.Combine(Path.GetTempPath(), _service.Name + "-build");
        if (Directory.Exists(build))
        {
            Directory.Delete(build, recursive: true);
        }
    }

    private static JsonNode StandIns(JsonNode node)
    {
        if (node is JsonObject o)
        {
            foreach (var (key, value) in o.ToList())
            {
                o[key] = value is JsonObject ? StandIns(value.DeepClone()) : JsonValue.Create($"stand-in for {key}");
            }
        }

        return node;
    }
}

public sealed class AzdWebBuildTests(AzdWebBuild build) : IClassFixture<AzdWebBuild>
{
    [Fact]
    public void Build_Succeeds()
    {
        Assert.True(build.ExitCode == 0, build.Log);
    }

    [Fact]
    public void Upload_IsTheSite()
    {
        var site = build.Resolve("outputLocation");

        Assert.True(File.Exists(Path.Combine(site, "index.html")), build.Log);
        Assert.NotEmpty(Directory.EnumerateFiles(Path.Combine(site, "_framework"), "*.wasm"));
        Assert.False(File.Exists(Path.Combine(Path.GetDirectoryName(site)!, "swa-cli.config.json")));
    }

    [Fact]
    public void Upload_AppSettings_AreExactlyTheDeploymentsOutput_WithNoCompressedCopyOfTheDevelopmentOnes()
    {
        var site = build.Resolve("outputLocation");

        Assert.Equal(build.WebAppSettings, File.ReadAllText(Path.Combine(site, "appsettings.json")));
        Assert.Equal(["Api", "Oidc"], JsonNode.Parse(build.WebAppSettings)!.AsObject().Select(p => p.Key).Order());
        Assert.False(File.Exists(Path.Combine(site, "appsettings.json.br")));
        Assert.False(File.Exists(Path.Combine(site, "appsettings.json.gz")));

        // Replaced after the publish: nothing published may pin the development file by its hash.
        var pin = Convert.ToBase64String(SHA256.HashData(build.DevelopmentSettings));
        Assert.DoesNotContain(Directory.EnumerateFiles(site, "*", SearchOption.AllDirectories),
            f => !f.EndsWith(".br", StringComparison.Ordinal) && !f.EndsWith(".gz", StringComparison.Ordinal) && !f.EndsWith(".wasm", StringComparison.Ordinal)
                && File.ReadAllText(f).Contains(pin, StringComparison.Ordinal));
    }

    /// <summary>The SWA CLI keeps the last staticwebapp.config.json it finds under swaConfigLocation: there must be
    /// one, the published one, with the import map's hash in place of the placeholder.</summary>
    [Fact]
    public void Upload_Headers_AreThePublishedOnes()
    {
        var config = Assert.Single(Directory.EnumerateFiles(build.Resolve("swaConfigLocation"), "staticwebapp.config.json", SearchOption.AllDirectories));
        var csp = (string)JsonNode.Parse(File.ReadAllText(config))!["globalHeaders"]!["Content-Security-Policy"]!;

        Assert.Contains("'sha256-", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("{importmap}", csp, StringComparison.Ordinal);
    }
}
