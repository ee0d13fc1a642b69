using Azure.Data.Tables;

namespace Iwrs.Storage.Stores;

/// <summary>
/// The one table Iwrs keeps everything in. One study is one partition (so every change to a study can be one
/// entity-group transaction); rows of different kinds share it, told apart by a RowKey prefix:
/// <c>study</c>, <c>role|…</c>, <c>audit-head</c>, <c>audit|…</c>. Administrators live in the
/// <see cref="SystemPartition"/>.
/// </summary>
public sealed class IwrsTable(TableServiceClient service, string tableName)
{
    /// <summary>Rows that belong to no study. '~' sorts after every study id and cannot start one.</summary>
    public const string SystemPartition = "~system";

    private readonly CreatedOnFirstUse<TableClient> _table = new(async ct =>
    {
        var client = service.GetTableClient(tableName);
        await client.CreateIfNotExistsAsync(ct);
        return client;
    });

    public TableServiceClient Service => service;

    /// <summary>
    /// The table, created on first use. A failed creation (storage down at start) is not cached, so the app
    /// starts without storage and recovers when it comes back.
    /// </summary>
    public Task<TableClient> GetAsync(CancellationToken ct) => _table.GetAsync(ct);
}
