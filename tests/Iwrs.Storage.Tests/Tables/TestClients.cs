using Iwrs.Storage.Tables;
using Iwrs.Testing;

namespace Iwrs.Storage.Tests.Tables;

internal static class TestClients
{
    /// <summary>A fixed instant for unit tests: Sat, 22 May 2021 22:49:50 GMT (the signing vector's date).</summary>
    public static readonly DateTimeOffset Start = new(2021, 5, 22, 22, 49, 50, TimeSpan.Zero);

    private static readonly HttpClient AzuriteHttp = new();

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
        new(TableStorageAccount.Parse(AzuriteServer.Instance.ConnectionString), AzuriteHttp, TimeProvider.System, options);

    public static async Task<TableClient> NewAzuriteTableAsync()
    {
        var table = Azurite().GetTableClient(AzuriteServer.UniqueTableName());
        Assert.True(await table.CreateIfNotExistsAsync());
        return table;
    }
}
