using Azure.Data.Tables;
using Iwrs.Testing;

namespace Iwrs.Storage.Tests;

internal static class TestClients
{
    private static readonly HttpClient AzuriteHttp = new() { Timeout = Timeout.InfiniteTimeSpan };

    /// <summary>Tiny delays so retry paths run in milliseconds.</summary>
    public static StorageRetryOptions FastRetries(int maxRetries = 2) => new()
    {
        MaxRetries = maxRetries,
        Delay = TimeSpan.FromMilliseconds(1),
        MaxDelay = TimeSpan.FromMilliseconds(5),
        NetworkTimeout = TimeSpan.FromSeconds(5),
    };

    /// <summary>The SDK's client on Azurite, built the way the app builds it (explicit-endpoint connection string).</summary>
    public static TableServiceClient Azurite() =>
        StorageClients.FromConnectionString(AzuriteServer.Instance.ConnectionString, AzuriteHttp, FastRetries());

    public static async Task<TableClient> NewAzuriteTableAsync()
    {
        var table = Azurite().GetTableClient(AzuriteServer.UniqueTableName());
        await table.CreateIfNotExistsAsync();
        return table;
    }

    public static async Task<List<TableEntity>> ToListAsync(IAsyncEnumerable<TableEntity> source)
    {
        var list = new List<TableEntity>();
        await foreach (var item in source)
        {
            list.Add(item);
        }

        return list;
    }
}
