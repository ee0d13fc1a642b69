namespace Iwrs.Storage.Tables;

/// <summary>
/// The entry point: one per storage account and process. It owns the resilience pipeline (built once from
/// <see cref="TableClientOptions"/>), and hands out cheap <see cref="TableClient"/>s per table. The HttpClient is the
/// caller's (from IHttpClientFactory in the app, a stub handler in unit tests); time comes from the injected
/// TimeProvider, for the request date, token expiry and retry delays alike.
/// </summary>
public sealed class TableServiceClient
{
    private readonly TableTransport _transport;

    public TableServiceClient(TableStorageAccount account, HttpClient http, TimeProvider time, TableClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(account);
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(time);

        // A copy, so later changes to the caller's options object cannot disagree with the pipeline built from it.
        var validated = (options ?? new TableClientOptions()).Clone();
        validated.Validate();
        _transport = new TableTransport(account, http, time, validated);
    }

    public TableStorageAccount Account => _transport.Account;

    /// <summary>A client for one table; validates the name (3-63 letters or digits, starting with a letter).</summary>
    public TableClient GetTableClient(string tableName)
    {
        TableKeys.ValidateTableName(tableName, nameof(tableName));
        return new TableClient(_transport, tableName);
    }

    /// <summary>
    /// Proves storage answers and accepts our credentials, with the cheapest authorized call there is: Query Tables with
    /// <c>$top=1</c> (https://learn.microsoft.com/rest/api/storageservices/query-tables). Throws
    /// <see cref="StorageUnavailableException"/> when unreachable and <see cref="TableStorageException"/> when refused.
    /// </summary>
    public async Task PingAsync(CancellationToken ct)
    {
        var request = new TableRequest(HttpMethod.Get, new Uri(_transport.BaseUrl + "/Tables?$top=1"), "Ping (query tables)");
        var response = await _transport.SendAsync(request, ct).ConfigureAwait(false);
        if (response.Status != 200)
        {
            throw TableErrors.ToException(response, "Ping (query tables)");
        }
    }
}
