using Iwrs.Storage.Tables;
using Iwrs.Testing;

namespace Iwrs.Storage.Tests.Tables;

internal static class TestClients
{
    /// <summary>A fixed instant for unit tests: Sat, 22 May 2021 22:49:50 GMT (the signing vector's date).</summary>
    public static readonly DateTimeOffset Start = new(2021, 5, 22, 22, 49, 50, TimeSpan.Zero);

    private static readonly HttpClient AzuriteHttp = new();

    // AzuriteServer.Instance passes --inMemoryPersistence together with --location, which Azurite 3.37 refuses
    // ("not supported when the --location option is set"), so it never starts. Until that is fixed in Iwrs.Testing,
    // this project starts its one emulator with a throw-away data directory instead.
    private static readonly Lazy<AzuriteServer> Server = new(StartAzurite, LazyThreadSafetyMode.ExecutionAndPublication);

    public static AzuriteServer AzuriteInstance => Server.Value;

    /// <summary>Tiny delays so retry tests run in milliseconds.</summary>
    public static TableClientOptions FastRetries(int maxRetries = 3) => new()
    {
        MaxRetries = maxRetries,
        BaseDelay = TimeSpan.FromMilliseconds(1),
        MaxDelay = TimeSpan.FromMilliseconds(5),
        PerTryTimeout = TimeSpan.FromSeconds(5),
        OverallTimeout = TimeSpan.FromSeconds(10),
    };

    public static TableServiceClient Stub(StubHttpHandler handler, TimeProvider? time = null, TableClientOptions? options = null) =>
        new(TableStorageAccount.Parse("UseDevelopmentStorage=true"), new HttpClient(handler), time ?? new ManualTimeProvider(Start),
            options ?? FastRetries());

    public static TableClient StubTable(StubHttpHandler handler, TimeProvider? time = null, TableClientOptions? options = null) =>
        Stub(handler, time, options).GetTableClient("mytable");

    public static TableServiceClient Azurite(TableClientOptions? options = null) =>
        new(TableStorageAccount.Parse(AzuriteInstance.ConnectionString), AzuriteHttp, TimeProvider.System, options);

    public static async Task<TableClient> NewAzuriteTableAsync()
    {
        var table = Azurite().GetTableClient(AzuriteServer.UniqueTableName());
        Assert.True(await table.CreateIfNotExistsAsync());
        return table;
    }

    private static AzuriteServer StartAzurite()
    {
        var directory = Path.Combine(Path.GetTempPath(), "iwrs-storage-tests-" + Guid.NewGuid().ToString("N"));
        var server = AzuriteServer.Start(directory);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            server.Dispose();
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
            }
        };
        return server;
    }
}
