using Iwrs.Azurite;

namespace Iwrs.Testing;

/// <summary>
/// One Azurite table service per test process, started from the npm package pinned in the repository
/// (package.json) on a free loopback port with in-memory persistence. Tests that need storage ask for
/// <see cref="Instance"/>; nothing is skipped when the emulator is missing: the start fails loudly instead.
/// A thin wrapper over <see cref="AzuriteEmulator"/>, kept so the tests keep one short name for it.
/// </summary>
public sealed class AzuriteServer : IDisposable
{
    /// <summary>The emulator's published development account and key (not a secret).</summary>
    public const string AccountName = AzuriteEmulator.AccountName;
    public const string AccountKey = AzuriteEmulator.AccountKey;

    private static readonly Lazy<AzuriteServer> Shared = new(() => Start(), LazyThreadSafetyMode.ExecutionAndPublication);
    private readonly AzuriteEmulator _emulator;

    private AzuriteServer(AzuriteEmulator emulator)
    {
        _emulator = emulator;
    }

    /// <summary>The process-wide emulator, started on first use and stopped when the test process exits.</summary>
    public static AzuriteServer Instance => Shared.Value;

    public int Port => _emulator.Port;

    public Uri TableEndpoint => _emulator.TableEndpoint;

    public Uri BlobEndpoint => _emulator.BlobEndpoint;

    /// <summary>An explicit-endpoint connection string, the form a developer would write for a non-default port.</summary>
    public string ConnectionString => _emulator.ConnectionString;

    /// <summary>A table name no other test uses (Table names: letters and digits, 3-63, starting with a letter).</summary>
    public static string UniqueTableName(string prefix = "t") =>
        prefix + Guid.NewGuid().ToString("N")[..20];

    public static AzuriteServer Start(string? dataDirectory = null, int? port = null)
    {
        // Tests never install: the test build's InstallAzurite target does, and a missing emulator must fail loudly.
        var server = new AzuriteServer(AzuriteEmulator.Start(new AzuriteOptions
        {
            RepositoryRoot = RepositoryRoot(),
            DataDirectory = dataDirectory,
            Port = port,
        }));
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.Dispose();
        return server;
    }

    public static string RepositoryRoot() =>
        AzuriteEmulator.RepositoryRootAbove(AppContext.BaseDirectory)
        ?? throw new InvalidOperationException("Iwrs.sln not found above " + AppContext.BaseDirectory);

    /// <summary>A loopback port nobody listens on right now (the OS hands out a fresh ephemeral one).</summary>
    public static int FreePort() => AzuriteEmulator.FreePort();

    public void Dispose() => _emulator.Dispose();
}
