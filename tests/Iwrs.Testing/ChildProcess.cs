using System.Diagnostics;

namespace Iwrs.Testing;

/// <summary>Runs a command to its end (a build, a packaging script) and keeps what it wrote, for a test to read.</summary>
public static class ChildProcess
{
    /// <summary>Runs <paramref name="start"/> (its output redirected here) and returns its exit code and its
    /// standard output followed by its standard error.</summary>
    public static (int ExitCode, string Log) Run(ProcessStartInfo start)
    {
        ArgumentNullException.ThrowIfNull(start);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return (process.ExitCode, stdout.GetAwaiter().GetResult() + stderr.GetAwaiter().GetResult());
    }
}
