using System.Diagnostics;
using System.Text.Json.Nodes;
using Iwrs.Testing;
using YamlDotNet.RepresentationModel;

namespace Iwrs.Deployment.Tests;

/// <summary>
/// What azd reads to deploy the web app: azure.yaml's <c>web</c> service, the SWA CLI configuration in its project
/// (src/Iwrs.Web/swa-cli.config.json: with it azd builds with <c>swa build</c> and uploads with <c>swa deploy</c>),
/// and the prebuild hook that writes the deployment's <c>WEB_APPSETTINGS</c> for the publish.
/// </summary>
public static class AzdWebService
{
    public const string SettingsOutput = "WEB_APPSETTINGS";

    public static string Root { get; } = AzuriteServer.RepositoryRoot();

    public static YamlMappingNode AzureYaml { get; } = LoadYaml(Path.Combine(Root, "azure.yaml"));

    public static YamlMappingNode Services => (YamlMappingNode)AzureYaml["services"];

    /// <summary>The one configuration in the web project's swa-cli.config.json (the SWA CLI takes the first one).</summary>
    public static JsonObject SwaConfiguration(string projectDirectory)
    {
        var file = JsonNode.Parse(File.ReadAllText(Path.Combine(projectDirectory, "swa-cli.config.json")))!;
        return Assert.Single(file["configurations"]!.AsObject()).Value!.AsObject();
    }

    /// <summary>The build command's arguments (it has no quoting: a plain split is how a shell reads it too).</summary>
    public static IReadOnlyList<string> BuildArguments(JsonObject configuration)
    {
        var command = (string)configuration["appBuildCommand"]!;
        Assert.DoesNotContain('"', command);
        Assert.DoesNotContain('\'', command);
        return command.Split(' ', StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>The publish directory the build command names (<c>-o</c>), relative to the project.</summary>
    public static string PublishDirectory(IReadOnlyList<string> arguments)
    {
        var at = arguments.ToList().IndexOf("-o");
        Assert.True(at >= 0 && at + 1 < arguments.Count, string.Join(' ', arguments));
        return arguments[at + 1];
    }

    /// <summary>The settings file the build command gives the publish (<c>-p:IwrsAppSettings=</c>), relative to the project.</summary>
    public static string SettingsFile(IReadOnlyList<string> arguments) =>
        Assert.Single(arguments, a => a.StartsWith("-p:IwrsAppSettings=", StringComparison.Ordinal))["-p:IwrsAppSettings=".Length..];

    /// <summary>Runs the posix hook (tools/web-settings.sh) the way azd runs a service hook: in the service's
    /// directory, with the environment's values as environment variables.</summary>
    public static (int ExitCode, string Log) RunSettingsHook(string serviceDirectory, string? webAppSettings)
    {
        var hook = (YamlMappingNode)((YamlMappingNode)((YamlMappingNode)Services["web"])["hooks"])["prebuild"];
        var posix = (YamlMappingNode)hook["posix"];
        var script = Path.GetFullPath(Path.Combine(Root, "src", "Iwrs.Web", (string)posix["run"]!));
        var start = new ProcessStartInfo("sh") { ArgumentList = { script }, WorkingDirectory = serviceDirectory };
        start.Environment.Remove(SettingsOutput);
        if (webAppSettings is not null)
        {
            start.Environment[SettingsOutput] = webAppSettings;
        }

        return ChildProcess.Run(start);
    }

    private static YamlMappingNode LoadYaml(string path)
    {
        using var reader = new StreamReader(path);
        var stream = new YamlStream();
        stream.Load(reader);
        return (YamlMappingNode)Assert.Single(stream.Documents).RootNode;
    }
}
