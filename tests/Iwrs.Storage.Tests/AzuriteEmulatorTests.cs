using System.Diagnostics;
using System.Globalization;
using Iwrs.Azurite;
using Iwrs.Testing;

namespace Iwrs.Storage.Tests;

/// <summary>
/// The emulator must not outlive whatever started it. A test host can end without running its exit handlers (killed
/// by the runner, or by a crash), so each Azurite service watches its stdin, a pipe only its owner holds.
/// </summary>
public sealed class AzuriteEmulatorTests
{
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Services_ExitByThemselves_WhenTheOwnersPipeCloses()
    {
        using var emulator = AzuriteEmulator.Start(new AzuriteOptions { RepositoryRoot = AzuriteServer.RepositoryRoot() });
        Assert.True(AzuriteEmulator.Answers(emulator.Port));
        Assert.True(AzuriteEmulator.Answers(emulator.BlobPort));
        Assert.Equal(2, emulator.Processes.Count);

        emulator.Abandon();

        foreach (var process in emulator.Processes)
        {
            using var timeout = new CancellationTokenSource(ExitTimeout);
            await process.WaitForExitAsync(timeout.Token);
            Assert.Equal(0, process.ExitCode);
        }

        Assert.False(AzuriteEmulator.Answers(emulator.Port));
        Assert.False(AzuriteEmulator.Answers(emulator.BlobPort));
    }

    /// <summary>
    /// Free ports come from below the ephemeral range, so the test run's own outgoing connections cannot take one
    /// between the check and Azurite binding it (a Storage test failed once while other test runs started Azurites).
    /// </summary>
    [Fact]
    public void FreePort_BelowTheEphemeralRange()
    {
        for (var i = 0; i < 50; i++)
        {
            Assert.InRange(AzuriteEmulator.FreePort(), 20000, 32767);
        }
    }

    /// <summary>
    /// The owner's pipe closing before the service has set its SIGINT handler (a test that gives up on a start at once):
    /// the preload's SIGINT then killed the process with the signal, exit code 130 (seen once in CI). It now exits
    /// cleanly at once. A bare node process with the preload and no handler stands for such a service.
    /// </summary>
    [Fact]
    public async Task PipeClosedBeforeTheServiceHandlesSigint_ExitsCleanly()
    {
        var preload = Path.Combine(AzuriteServer.RepositoryRoot(), "tools", "Iwrs.Azurite", "exit-with-owner.cjs");
        var start = new ProcessStartInfo("node") { UseShellExecute = false, RedirectStandardInput = true };
        foreach (var arg in new[] { "--require", preload, "-e", "setInterval(() => {}, 1000);" })
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(ExitTimeout);
        await process.WaitForExitAsync(timeout.Token);

        Assert.Equal(0, process.ExitCode);
    }

    [Fact]
    public async Task Service_Exits_WhenItsOwnerIsKilledOutright()
    {
        // The owner is a node process that starts the table service the way AzuriteEmulator does (stdin a pipe it
        // holds, the same preload) and then is killed with SIGKILL: no handler of it runs.
        var root = AzuriteServer.RepositoryRoot();
        var port = AzuriteEmulator.FreePort();
        var preload = Path.Combine(root, "tools", "Iwrs.Azurite", "exit-with-owner.cjs");
        var table = Path.Combine(root, "node_modules", "azurite", "dist", "src", "table", "main.js");
        var owner = new ProcessStartInfo("node") { WorkingDirectory = root, UseShellExecute = false, RedirectStandardOutput = true };
        owner.ArgumentList.Add("-e");
        owner.ArgumentList.Add(
            "const c = require('child_process').spawn('node', process.argv.slice(1), { stdio: ['pipe', 'ignore', 'ignore'] });" +
            "console.log(c.pid); setInterval(() => {}, 1000);");
        owner.ArgumentList.Add("--"); // the rest is the service's command line, not options for the owner's node
        foreach (var arg in new[] { "--require", preload, table, "--tableHost", "127.0.0.1", "--tablePort", port.ToString(CultureInfo.InvariantCulture), "--inMemoryPersistence", "--silent" })
        {
            owner.ArgumentList.Add(arg);
        }

        using var process = Process.Start(owner)!;
        int service;
        try
        {
            service = int.Parse(await process.StandardOutput.ReadLineAsync() ?? "0", CultureInfo.InvariantCulture);
            await Eventually(() => AzuriteEmulator.Answers(port), "the table service never answered");
        }
        finally
        {
            process.Kill();
            await process.WaitForExitAsync();
        }

        try
        {
            await Eventually(() => !AzuriteEmulator.Answers(port), "the table service outlived its killed owner");
        }
        finally
        {
            KillIfRunning(service);
        }
    }

    private static async Task Eventually(Func<bool> condition, string failure)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(watch.Elapsed < ExitTimeout, failure);
            await Task.Delay(100);
        }
    }

    private static void KillIfRunning(int pid)
    {
        try
        {
            using var leftover = Process.GetProcessById(pid);
            leftover.Kill();
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            // Gone, as it should be.
        }
    }
}
