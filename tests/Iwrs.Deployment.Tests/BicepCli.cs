using System.Diagnostics;
using System.Reflection;
using Iwrs.Testing;

namespace Iwrs.Deployment.Tests;

/// <summary>The Bicep CLI restored by this project's PackageDownload (Azure.Bicep.CommandLine.linux-x64), run offline.</summary>
public static class BicepCli
{
    public sealed record Result(int ExitCode, string StandardOutput, string StandardError)
    {
        public string Output => StandardOutput + StandardError;
    }

    public static string Path { get; } = Locate();

    public static string InfraDirectory { get; } = System.IO.Path.Combine(AzuriteServer.RepositoryRoot(), "infra");

    /// <summary>Every template under infra/, as a path relative to it.</summary>
    public static IEnumerable<string> Templates() =>
        Directory.EnumerateFiles(InfraDirectory, "*.bicep", SearchOption.AllDirectories)
            .Select(f => System.IO.Path.GetRelativePath(InfraDirectory, f))
            .Order(StringComparer.Ordinal);

    public static Result Run(string workingDirectory, params string[] arguments)
    {
        var start = new ProcessStartInfo(Path)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        // Offline and quiet: no telemetry, no update check.
        start.Environment["BICEP_TELEMETRY_ENABLED"] = "false";
        using var process = Process.Start(start) ?? throw new InvalidOperationException("bicep did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return new Result(process.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
    }

    private static string Locate()
    {
        var path = typeof(BicepCli).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "BicepCli").Value
            ?? throw new InvalidOperationException("no BicepCli metadata");
        if (!File.Exists(path))
        {
            throw new FileNotFoundException("The Bicep CLI was not restored (PackageDownload Azure.Bicep.CommandLine.linux-x64).", path);
        }

        // A package's files can lose their execute bit on extraction; the CLI is a single-file Linux executable.
        if (OperatingSystem.IsLinux() && !File.GetUnixFileMode(path).HasFlag(UnixFileMode.UserExecute))
        {
            File.SetUnixFileMode(path, File.GetUnixFileMode(path) | UnixFileMode.UserExecute);
        }

        return path;
    }
}
