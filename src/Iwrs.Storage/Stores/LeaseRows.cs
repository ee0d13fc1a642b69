using Iwrs.Domain;
using Azure;
using Azure.Data.Tables;

namespace Iwrs.Storage.Stores;

/// <summary>
/// One long operation of a kind at a time in a study (a list upload, a kit import): a lease row whose ETag every step
/// of the holder carries, so a holder whose lease was taken over stops at its next step. Taken when free, when held by
/// the same <c>holder</c> (a retried operation), or when untouched for longer than the lease; otherwise refused. The
/// holder is kept in the property <c>ListId</c>, the name the list upload's lock row has always had.
/// </summary>
public static class LeaseRows
{
    /// <summary>Takes the lease <paramref name="rowKey"/> for <paramref name="holder"/>; its ETag, or <paramref name="busy"/>.</summary>
    public static async Task<Result<string>> TakeAsync(TableClient table, string studyId, string rowKey, string holder, DateTimeOffset now, TimeSpan lease, DomainError busy, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(table);
        var row = Rows.New(studyId, rowKey);
        row.Set("ListId", holder);
        row.Set("At", now);
        try
        {
            return (await table.AddEntityAsync(row, ct)).Headers.ETag?.ToString() ?? string.Empty;
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            var current = await table.GetRowAsync(studyId, rowKey, ct);
            if (current is not null && (current.GetString("ListId") == holder || now - (current.GetDateTimeOffset("At") ?? DateTimeOffset.MinValue) > lease))
            {
                try
                {
                    return (await table.UpdateEntityAsync(row, current.ETag, TableUpdateMode.Replace, ct)).Headers.ETag?.ToString() ?? string.Empty;
                }
                catch (RequestFailedException lost) when (lost.Status is 404 or 412)
                {
                    // Another holder took the expired lease (or released it) between our read and our write.
                }
            }

            return busy;
        }
    }

    /// <summary>A step's touch of the lease, in the step's transaction: fails it (412) if the lease was taken over, and renews its time.</summary>
    public static TableTransactionAction Touch(string studyId, string rowKey, string holder, DateTimeOffset now, string etag) =>
        new(TableTransactionActionType.UpdateMerge, Rows.New(studyId, rowKey).Set("ListId", holder).Set("At", now), new ETag(etag));

    /// <summary>Gives the lease back, if still held with <paramref name="etag"/> (a lease taken over meanwhile is left to its new holder).</summary>
    public static async Task ReleaseAsync(TableClient table, string studyId, string rowKey, string etag, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(table);
        try
        {
            await table.DeleteEntityAsync(studyId, rowKey, new ETag(etag), ct);
        }
        catch (RequestFailedException e) when (e.Status is 404 or 412)
        {
        }
    }
}
