using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Iwrs.Azurite;

/// <summary>How to start the emulator; the defaults are the throwaway test emulator.</summary>
public sealed record AzuriteOptions
{
    /// <summary>The repository root, where package.json pins the Azurite version and node_modules holds it.</summary>
    public required string RepositoryRoot { get; init; }

    /// <summary>Where Azurite keeps its tables between runs; null keeps nothing on disk (in-memory persistence).</summary>
    public string? DataDirectory { get; init; }

    /// <summary>A fixed port (a developer's connection string names it); null takes a free ephemeral port.</summary>
    public int? Port { get; init; }

    /// <summary>The blob service's fixed port; null takes a free ephemeral port.</summary>
    public int? BlobPort { get; init; }

    /// <summary>Run 'npm ci' when Azurite is missing instead of failing: the tools may run before any build installed it.</summary>
    public bool InstallIfMissing { get; init; }

    /// <summary>Pass --silent: the tools do not want Azurite's access log on stdout.</summary>
    public bool Silent { get; init; }

    /// <summary>Echo Azurite's stderr as "azurite: ..." lines, so a tool's user sees why storage misbehaves.</summary>
    public bool ForwardErrors { get; init; }
}

/// <summary>
/// Azurite's table and blob services started from the npm package pinned in the repository (package.json) on
/// loopback, or ones that already answered on their ports. Disposing kills the node process trees it started (and
/// nothing it did not start); each service also exits by itself once the process that started it is gone, however it
/// ended (exit-with-owner.cjs). The blob service holds the signed audit checkpoints.
/// </summary>
public sealed class AzuriteEmulator : IDisposable
{
    /// <summary>The emulator's published development account and key (not a secret).</summary>
    public const string AccountName = "devstoreaccount1";
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    private readonly Process? _process;
    private readonly Process? _blobProcess;

    private AzuriteEmulator(Process? process, int port, Process? blobProcess, int blobPort)
    {
        _process = process;
        Port = port;
        _blobProcess = blobProcess;
        BlobPort = blobPort;
    }

    /// <summary>The table service's port.</summary>
    public int Port { get; }

    public int BlobPort { get; }

    public Uri TableEndpoint => new($"http://127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}/{AccountName}");

    public Uri BlobEndpoint => new($"http://127.0.0.1:{BlobPort.ToString(CultureInfo.InvariantCulture)}/{AccountName}");

    /// <summary>An explicit-endpoint connection string, the form a developer would write for non-default ports.</summary>
    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};TableEndpoint={TableEndpoint};BlobEndpoint={BlobEndpoint};";

    /// <summary>An emulator somebody else started (a previous launcher, a developer's own Azurite): used, never stopped.</summary>
    public static AzuriteEmulator Existing(int port, int blobPort = 10000) => new(null, port, null, blobPort);

    /// <summary>Starts the emulator and blocks until it accepts connections (tests start it from a synchronous Lazy).</summary>
    public static AzuriteEmulator Start(AzuriteOptions options)
    {
        var emulator = Launch(options);
        var watch = Stopwatch.StartNew();
        while (!emulator.StartedYet(watch))
        {
            Thread.Sleep(PollInterval);
        }

        return emulator;
    }

    /// <summary>Starts the emulator and waits, without blocking a thread, until it accepts connections.</summary>
    public static async Task<AzuriteEmulator> StartAsync(AzuriteOptions options)
    {
        var emulator = Launch(options);
        var watch = Stopwatch.StartNew();
        while (!emulator.StartedYet(watch))
        {
            await Task.Delay(PollInterval).ConfigureAwait(false);
        }

        return emulator;
    }

    /// <summary>Whether something accepts connections on the loopback port (readiness, and "is one already running").</summary>
    public static bool Answers(int port)
    {
        try
        {
            using var client = new TcpClient();
            client.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>
    /// A loopback port nobody listens on right now, drawn from 20000-32767: below Linux's ephemeral range (32768-60999),
    /// which outgoing connections take ports from, so the many HTTP connections of a test run cannot take it between
    /// this check and the service binding it. Another process picking the same port at the same moment (1 in 12,768)
    /// is not ruled out.
    /// </summary>
    public static int FreePort()
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var port = System.Security.Cryptography.RandomNumberGenerator.GetInt32(20000, 32768);
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (SocketException)
            {
                // In use: another.
            }
        }

        using var fallback = new TcpListener(IPAddress.Loopback, 0);
        fallback.Start();
        return ((IPEndPoint)fallback.LocalEndpoint).Port;
    }

    /// <summary>The repository root: the tools run from anywhere inside it (dotnet run) or from their build output.</summary>
    public static string RepositoryRoot() =>
        RepositoryRootAbove(Directory.GetCurrentDirectory())
        ?? RepositoryRootAbove(AppContext.BaseDirectory)
        ?? throw new InvalidOperationException("Run this from inside the Iwrs repository (Iwrs.sln not found).");

    /// <summary>The nearest directory at or above <paramref name="start"/> holding Iwrs.sln, or null when there is none.</summary>
    public static string? RepositoryRootAbove(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Iwrs.sln")))
            {
                return dir.FullName;
            }
        }

        return null;
    }

    /// <summary>Runs 'npm ci' in the repository root, which installs the Azurite version package-lock.json pins.</summary>
    public static void Install(string root)
    {
        const string arguments = "ci --no-audit --no-fund";
        using var process = Process.Start(new ProcessStartInfo("npm", arguments) { WorkingDirectory = root, UseShellExecute = false })
            ?? throw new InvalidOperationException("npm did not start");
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"npm {arguments} failed with exit code {process.ExitCode.ToString(CultureInfo.InvariantCulture)}.");
        }
    }

    public void Dispose() => Stop(_process, _blobProcess);

    /// <summary>
    /// Closes the services' stdin as if this process had ended without disposing (a test host killed before its exit
    /// handlers ran): each service then exits by itself. Tests only; Dispose still kills whatever is left.
    /// </summary>
    internal void Abandon()
    {
        foreach (var process in new[] { _process, _blobProcess }.OfType<Process>())
        {
            process.StandardInput.Close();
        }
    }

    /// <summary>The node processes this emulator started (none for an existing one).</summary>
    internal IReadOnlyList<Process> Processes => new[] { _process, _blobProcess }.OfType<Process>().ToList();

    /// <summary>
    /// Kills every process first, then waits for them, so one slow exit does not hold up the other's kill (the test
    /// host may be ended soon after its exit handlers start). Some test hosts end without running this at all; the
    /// services then exit by themselves when their stdin closes (exit-with-owner.cjs).
    /// </summary>
    private static void Stop(params Process?[] processes)
    {
        var started = processes.OfType<Process>().ToList();
        foreach (var process in started)
        {
            try
            {
                if (!process.HasExited)
                {
                    // node may have children; the whole tree goes so no emulator outlives its owner.
                    process.Kill(entireProcessTree: true);
                }
            }
            catch (Exception e) when (e is InvalidOperationException or AggregateException or System.ComponentModel.Win32Exception)
            {
                // Gone already, or part of its tree would not die: the next process is killed all the same.
            }
        }

        foreach (var process in started)
        {
            try
            {
                process.WaitForExit(5000);
            }
            catch (InvalidOperationException)
            {
            }

            process.Dispose();
        }
    }

    private static AzuriteEmulator Launch(AzuriteOptions options)
    {
        var root = options.RepositoryRoot;
        var table = Entry(root, "table");
        if (!File.Exists(table) && options.InstallIfMissing)
        {
            Install(root);
        }

        if (!File.Exists(table))
        {
            throw new InvalidOperationException(
                $"Azurite is not installed at {table}. Run 'npm ci' in {root} (building the test and tool projects does it).");
        }

        var port = options.Port ?? FreePort();
        var blobPort = options.BlobPort ?? FreePort();
        var tableProcess = Run(options, "table", port);
        try
        {
            return new AzuriteEmulator(tableProcess, port, Run(options, "blob", blobPort), blobPort);
        }
        catch
        {
            Stop(tableProcess);
            throw;
        }
    }

    /// <summary>Preloaded into each service: it exits at end-of-file on its stdin, which this process holds open.</summary>
    private static string ExitWithOwner(string root) => Path.Combine(root, "tools", "Iwrs.Azurite", "exit-with-owner.cjs");

    private static string Entry(string root, string service) => Path.Combine(root, "node_modules", "azurite", "dist", "src", service, "main.js");

    /// <summary>One Azurite service ("table" or "blob") as its own node process, each with its own data directory.</summary>
    private static Process Run(AzuriteOptions options, string service, int port)
    {
        var root = options.RepositoryRoot;
        var info = new ProcessStartInfo("node")
        {
            WorkingDirectory = root,
            // The pipe is never written: it closes when this process ends, however it ends, and the service follows.
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
                 {
                     "--require", ExitWithOwner(root), Entry(root, service), $"--{service}Host", "127.0.0.1", $"--{service}Port", port.ToString(CultureInfo.InvariantCulture),
                     "--skipApiVersionCheck", "--disableProductStyleUrl",
                 })
        {
            info.ArgumentList.Add(arg);
        }

        // Azurite refuses --location together with --inMemoryPersistence; the test emulator keeps nothing on disk.
        // Tables keep the directory they always had (a developer's data survives); blobs get one beside it.
        if (options.DataDirectory is null)
        {
            info.ArgumentList.Add("--inMemoryPersistence");
        }
        else
        {
            info.ArgumentList.Add("--location");
            info.ArgumentList.Add(Directory.CreateDirectory(service == "table" ? options.DataDirectory : Path.Combine(options.DataDirectory, service)).FullName);
        }

        if (options.Silent)
        {
            info.ArgumentList.Add("--silent");
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("node did not start");
        // Both pipes are drained so a chatty emulator never blocks on a full pipe.
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) =>
        {
            if (options.ForwardErrors && e.Data is not null)
            {
                Console.Error.WriteLine("azurite: " + e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>True once both services answer; throws (after killing them) when one died or never came up.</summary>
    private bool StartedYet(Stopwatch watch)
    {
        // Exited first: a service that could not bind its port exits, while whoever took the port answers on it.
        var exited = _process is null || _process.HasExited || _blobProcess is null || _blobProcess.HasExited;
        if (!exited && Answers(Port) && Answers(BlobPort))
        {
            return true;
        }

        if (exited || watch.Elapsed > StartTimeout)
        {
            Dispose();
            throw new InvalidOperationException($"Azurite did not start on 127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)} (tables) and {BlobPort.ToString(CultureInfo.InvariantCulture)} (blobs){(exited ? ": a service exited (its port taken?)" : string.Empty)}.");
        }

        return false;
    }
}
