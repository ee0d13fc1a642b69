using System.Diagnostics;
using System.Text;

namespace Iwrs.Storage.Tests;

/// <summary>
/// No Azurite process outlives the test run that started it. The test runner ends its test host soon after the last
/// test, without waiting for exit handlers to finish, so a kill on dispose alone is not enough: the emulator also goes
/// when its owner does. Checked with a real, filtered test run in a child process whose emulator processes carry a
/// marker in their environment; afterwards no process with that marker may be left.
/// </summary>
[Trait("Category", "Integration")]
public sealed class AzuriteLifetimeTests
{
    private const string Marker = "IWRS_AZURITE_LIFETIME_PROBE";

    [Fact]
    public async Task FilteredTestRun_ThatStartedAzurite_LeavesNoAzuriteProcessBehind()
    {
        Assert.True(OperatingSystem.IsLinux(), "this check reads /proc");
        var tag = Guid.NewGuid().ToString("N");
        var assembly = typeof(AzuriteLifetimeTests).Assembly.Location;
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "test", assembly, "--filter", $"FullyQualifiedName={typeof(TableClientIntegrationTests).FullName}.{nameof(TableClientIntegrationTests.Ping_AzuriteRunning_Completes)}" })
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment[Marker] = tag;
        using var run = Process.Start(info)!;
        var output = run.StandardOutput.ReadToEndAsync();
        var errors = run.StandardError.ReadToEndAsync();
        await run.WaitForExitAsync();
        var text = await output + await errors;

        // The child run did start the emulator: its one test talks to Azurite and passed.
        Assert.True(run.ExitCode == 0 && text.Contains("Passed:     1", StringComparison.Ordinal), text);

        // The emulator's node processes see their owner's pipe close and exit; a ceiling, not a measured time.
        var left = Tagged(tag);
        for (var waited = 0; left.Count > 0 && waited < 300; waited++)
        {
            await Task.Delay(100);
            left = Tagged(tag);
        }

        Assert.True(left.Count == 0, "left behind: " + string.Join("; ", left));
    }

    /// <summary>Live processes whose environment holds the marker (other users' and vanished processes are skipped).</summary>
    private static List<string> Tagged(string tag)
    {
        var needle = Encoding.UTF8.GetBytes($"{Marker}={tag}\0");
        var found = new List<string>();
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out _))
            {
                continue;
            }

            try
            {
                if (File.ReadAllBytes(Path.Combine(dir, "environ")).AsSpan().IndexOf(needle) >= 0)
                {
                    found.Add(Path.GetFileName(dir) + " " + File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' '));
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }

        return found;
    }
}
