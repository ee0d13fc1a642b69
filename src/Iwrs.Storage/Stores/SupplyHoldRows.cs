using Azure;
using Azure.Data.Tables;

namespace Iwrs.Storage.Stores;

/// <summary>
/// A site on supply hold: <c>state|hold|{site}</c>, under the state prefix so a randomization's one range read brings
/// it. Inserting it is what starts the hold (a second insert fails, so a hold starts once); releasing a shipment at
/// the site deletes it under its ETag, in the release's own transaction.
/// </summary>
public static class SupplyHoldRows
{
    public const string Prefix = RandomizationState.Prefix + "hold|";

    public sealed record Hold(string SiteId, DateTimeOffset Since, string ETag);

    public static string Key(string siteId) => Prefix + siteId;

    public static TableTransactionAction Insert(string studyId, string siteId, DateTimeOffset since)
    {
        var e = Rows.New(studyId, Key(siteId));
        e.Set("Since", since);
        return new(TableTransactionActionType.Add, e);
    }

    public static TableTransactionAction Delete(string studyId, Hold hold) =>
        new(TableTransactionActionType.Delete, Rows.New(studyId, Key(hold.SiteId)), new ETag(hold.ETag));

    public static Hold FromEntity(TableEntity e) =>
        new(e.RowKey[Prefix.Length..], e.GetDateTimeOffset("Since") ?? DateTimeOffset.MinValue, e.Tag());

    public static async Task<Hold?> GetAsync(TableClient table, string studyId, string siteId, CancellationToken ct) =>
        await table.GetRowAsync(studyId, Key(siteId), ct) is { } row ? FromEntity(row) : null;
}
