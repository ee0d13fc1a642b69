using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Iwrs.Testing;

/// <summary>
/// One Azurite table service per test process, started from the npm package pinned in the repository
/// (package.json) on a free loopback port with in-memory persistence. Tests that need storage ask for
/// <see cref="Instance"/>; nothing is skipped when the emulator is missing: the start fails loudly instead.
/// </summary>
public sealed class AzuriteServer : IDisposable
{
    /// <summary>The emulator's published development account and key (not a secret).</summary>
    public const string AccountName = "devstoreaccount1";
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private static readonly Lazy<AzuriteServer> Shared = new(() => Start(), LazyThreadSafetyMode.ExecutionAndPublication);
    private readonly Process _process;

    private AzuriteServer(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    /// <summary>The process-wide emulator, started on first use and stopped when the test process exits.</summary>
    public static AzuriteServer Instance => Shared.Value;

    public int Port { get; }

    public Uri TableEndpoint => new($"http://127.0.0.1:{Port}/{AccountName}");

    /// <summary>An explicit-endpoint connection string, the form a developer would write for a non-default port.</summary>
    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};TableEndpoint={TableEndpoint};";

    /// <summary>A table name no other test uses (Table names: letters and digits, 3-63, starting with a letter).</summary>
    public static string UniqueTableName(string prefix = "t") =>
        prefix + Guid.NewGuid().ToString("N")[..20];

    public static AzuriteServer Start(string? dataDirectory = null, int? port = null)
    {
        var root = RepositoryRoot();
        var entry = Path.Combine(root, "node_modules", "azurite", "dist", "src", "table", "main.js");
        if (!File.Exists(entry))
        {
            throw new InvalidOperationException(
                $"Azurite is not installed at {entry}. Run 'npm ci' in {root} (the test build does this itself).");
        }

        var inMemory = dataDirectory is null;
        dataDirectory ??= string.Empty;
        if (!inMemory)
        {
            Directory.CreateDirectory(dataDirectory);
        }
        var chosenPort = port ?? FreePort();
        var info = new ProcessStartInfo("node")
        {
            WorkingDirectory = root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
                 {
                     entry, "--tableHost", "127.0.0.1", "--tablePort", chosenPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "--skipApiVersionCheck", "--disableProductStyleUrl",
                 })
        {
            info.ArgumentList.Add(arg);
        }

        // Azurite refuses --location together with --inMemoryPersistence; the test emulator keeps nothing on disk.
        info.ArgumentList.Add(inMemory ? "--inMemoryPersistence" : "--location");
        if (!inMemory)
        {
            info.ArgumentList.Add(dataDirectory);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("node did not start");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var server = new AzuriteServer(process, chosenPort);
        var deadline = Stopwatch.StartNew();
        while (!server.Answers())
        {
            if (process.HasExited || deadline.Elapsed > TimeSpan.FromSeconds(60))
            {
                server.Dispose();
                throw new InvalidOperationException($"Azurite did not start on port {chosenPort}.");
            }

            Thread.Sleep(100);
        }

        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.Dispose();
        return server;
    }

    public static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Iwrs.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Iwrs.sln not found above " + AppContext.BaseDirectory);
    }

    private bool Answers()
    {
        try
        {
            using var client = new TcpClient();
            client.Connect(IPAddress.Loopback, Port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>A loopback port nobody listens on right now (the OS hands out a fresh ephemeral one).</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
    }
}
