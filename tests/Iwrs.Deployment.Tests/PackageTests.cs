using System.Diagnostics;
using System.IO.Compression;
using System.Text.Json.Nodes;
using Iwrs.Testing;

namespace Iwrs.Deployment.Tests;

/// <summary>tools/package.sh, built once: the zip the Flex Consumption plan runs.</summary>
public sealed class FlexPackage : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("iwrs-package-");

    public FlexPackage()
    {
        ZipPath = Path.Combine(_directory.FullName, "iwrs-functions.zip");
        var start = new ProcessStartInfo("bash") { ArgumentList = { Path.Combine(AzuriteServer.RepositoryRoot(), "tools", "package.sh"), ZipPath } };
        start.Environment["IWRS_BUILD_DIR"] = Path.Combine(_directory.FullName, "build");
        (ExitCode, Log) = ChildProcess.Run(start);
        Entries = File.Exists(ZipPath) ? ReadEntries(ZipPath) : new Dictionary<string, byte[]>();
    }

    public string ZipPath { get; }

    public int ExitCode { get; }

    public string Log { get; }

    /// <summary>Every file in the zip, by its path inside it.</summary>
    public IReadOnlyDictionary<string, byte[]> Entries { get; }

    public string Text(string entry) => System.Text.Encoding.UTF8.GetString(Entries[entry]);

    public void Dispose() => _directory.Delete(recursive: true);

    private static Dictionary<string, byte[]> ReadEntries(string zip)
    {
        using var archive = ZipFile.OpenRead(zip);
        return archive.Entries.Where(e => !e.FullName.EndsWith('/')).ToDictionary(e => e.FullName, e =>
        {
            using var stream = e.Open();
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            return buffer.ToArray();
        });
    }
}

public sealed class PackageTests(FlexPackage package) : IClassFixture<FlexPackage>
{
    [Fact]
    public void PackageScript_Succeeds()
    {
        Assert.True(package.ExitCode == 0, package.Log);
        Assert.True(File.Exists(package.ZipPath), package.Log);
    }

    [Theory]
    [InlineData("host.json")]
    [InlineData("functions.metadata")]
    [InlineData("worker.config.json")]
    [InlineData("extensions.json")]
    [InlineData("Iwrs.Functions.dll")]
    [InlineData("Iwrs.Functions.deps.json")]
    [InlineData("Iwrs.Functions.runtimeconfig.json")]
    [InlineData(".azurefunctions/function.deps.json")]
    [InlineData(".azurefunctions/Microsoft.Azure.WebJobs.Extensions.FunctionMetadataLoader.dll")]
    public void Package_HasWhatTheHostLoads_AtItsRoot(string entry)
    {
        Assert.True(package.Entries.ContainsKey(entry), $"{entry} not in: {string.Join(", ", package.Entries.Keys.Order())}");
    }

    [Fact]
    public void Package_HasNoLocalOrDevelopmentSettings()
    {
        Assert.NotEmpty(package.Entries);
        Assert.DoesNotContain(package.Entries.Keys, e =>
            e.Contains("local.settings", StringComparison.OrdinalIgnoreCase)
            || e.Contains("appsettings", StringComparison.OrdinalIgnoreCase)
            || e.Contains(".Development.", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(package.Entries, e => e.Key.EndsWith(".json", StringComparison.Ordinal)
            && System.Text.Encoding.UTF8.GetString(e.Value).Contains("UseDevelopmentStorage", StringComparison.Ordinal));
    }

    [Fact]
    public void Package_HostJson_IsTheRepositorysOne()
    {
        Assert.Equal(File.ReadAllText(Path.Combine(AzuriteServer.RepositoryRoot(), "host.json")), package.Text("host.json"));
    }

    [Fact]
    public void Package_WorkerConfig_RunsTheAppOnTheProjectsRuntime()
    {
        var description = JsonNode.Parse(package.Text("worker.config.json"))!["description"]!;

        Assert.Equal(InfraContract.ProjectWorkerRuntime, (string?)description["language"]);
        Assert.Equal("Iwrs.Functions.dll", (string?)description["defaultWorkerPath"]);
        Assert.Equal("dotnet", (string?)description["defaultExecutablePath"]);
    }

    [Fact]
    public void Package_IsPublishedForLinuxX64OnTheProjectsDotNet()
    {
        var deps = JsonNode.Parse(package.Text("Iwrs.Functions.deps.json"))!;
        var runtimeConfig = JsonNode.Parse(package.Text("Iwrs.Functions.runtimeconfig.json"))!;

        Assert.Equal($".NETCoreApp,Version=v{InfraContract.ProjectRuntimeVersion}/linux-x64", (string?)deps["runtimeTarget"]!["name"]);
        Assert.Equal($"net{InfraContract.ProjectRuntimeVersion}", (string?)runtimeConfig["runtimeOptions"]!["tfm"]);
    }

    [Fact]
    public void Package_FunctionsMetadata_ListsTheTimersWithTheirScheduleSettings()
    {
        var metadata = package.Text("functions.metadata");

        Assert.All(InfraContract.TimerScheduleSettings, s => Assert.Contains($"%{s}%", metadata, StringComparison.Ordinal));
        Assert.Contains("\"timerTrigger\"", metadata, StringComparison.Ordinal);
        Assert.Contains("\"httpTrigger\"", metadata, StringComparison.Ordinal);
    }
}
