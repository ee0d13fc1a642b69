using Azure;
using Azure.Data.Tables;

namespace Iwrs.Storage.Stores;

/// <summary>
/// A number sequence in a study partition (subject numbers, shipment numbers): the next value and the ETag it
/// was read with. Advancing it is an insert (first use) or a replace under that ETag, in the same transaction as
/// whatever takes the number, so two writers can never take the same one.
/// </summary>
public sealed record Counter(string RowKey, long Next, string? ETag)
{
    public static async Task<Counter> GetAsync(TableClient table, string partition, string rowKey, CancellationToken ct)
    {
        var row = await table.GetRowAsync(partition, rowKey, ct);
        return row is null ? new Counter(rowKey, 1, null) : From(row);
    }

    public static Counter From(TableEntity row) => new(row.RowKey, row.GetInt64("Next") ?? 1, row.Tag());

    /// <summary>Takes <paramref name="count"/> numbers (one unless several changes commit together).</summary>
    public TableTransactionAction Advance(string partition, int count = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        var e = Rows.New(partition, RowKey);
        e.Set("Next", checked(Next + count));
        return ETag is null
            ? new TableTransactionAction(TableTransactionActionType.Add, e)
            : new TableTransactionAction(TableTransactionActionType.UpdateReplace, e, new ETag(ETag));
    }
}
