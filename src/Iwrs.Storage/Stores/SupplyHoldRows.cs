using System.Text.Json;
using Azure;
using Azure.Data.Tables;

namespace Iwrs.Storage.Stores;

/// <summary>
/// A site on supply hold: <c>state|hold|{site}</c>, under the state prefix so a randomization's one range read brings
/// it. Inserting it is what starts the hold (a second insert fails, so a hold starts once). A hold for a stock-out
/// lifts at the next release at the site; a hold for kits lost on the way or from the shelf counts the replacement
/// shipments still owed (one per loss: a public count) and lifts when every one of them is released. It also carries
/// the lost kits' types, per type, which only the depot's re-order reads. Both are written under the row's ETag in the
/// transaction that changes them.
/// </summary>
public static class SupplyHoldRows
{
    public const string Prefix = RandomizationState.Prefix + "hold|";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>
    /// <paramref name="Replacements"/>: replacement shipments owed to the site, one per loss reported (a release with
    /// lost kits, a kit reported from the shelf); <paramref name="ToReplace"/>: the lost kits per type, for re-ordering.
    /// </summary>
    public sealed record Hold(string SiteId, DateTimeOffset Since, IReadOnlyDictionary<string, int> ToReplace, string? ETag, int Replacements = 0);

    public static string Key(string siteId) => Prefix + siteId;

    public static TableTransactionAction Insert(string studyId, string siteId, DateTimeOffset since) =>
        new(TableTransactionActionType.Add, ToEntity(studyId, new Hold(siteId, since, new Dictionary<string, int>(), null)));

    /// <summary>The hold as it should now be: added when new, replaced under its ETag otherwise.</summary>
    public static TableTransactionAction Write(string studyId, Hold hold) => hold.ETag is null
        ? new(TableTransactionActionType.Add, ToEntity(studyId, hold))
        : new(TableTransactionActionType.UpdateReplace, ToEntity(studyId, hold), new ETag(hold.ETag));

    public static TableTransactionAction Delete(string studyId, Hold hold) =>
        new(TableTransactionActionType.Delete, Rows.New(studyId, Key(hold.SiteId)), new ETag(hold.ETag!));

    private static TableEntity ToEntity(string studyId, Hold hold)
    {
        var e = Rows.New(studyId, Key(hold.SiteId));
        e.Set("Since", hold.Since);
        e.Set("ToReplace", hold.ToReplace.Count == 0 ? null : JsonSerializer.Serialize(hold.ToReplace, Json));
        e.Set("Replacements", hold.Replacements == 0 ? null : hold.Replacements);
        return e;
    }

    public static Hold FromEntity(TableEntity e)
    {
        var toReplace = e.GetString("ToReplace") is { } json ? JsonSerializer.Deserialize<Dictionary<string, int>>(json, Json) ?? [] : new Dictionary<string, int>();

        // A row from before replacements were counted owes one while it owes kits.
        return new(e.RowKey[Prefix.Length..], e.GetDateTimeOffset("Since") ?? DateTimeOffset.MinValue, toReplace, e.Tag(), e.GetInt32("Replacements") ?? (toReplace.Count > 0 ? 1 : 0));
    }

    public static async Task<Hold?> GetAsync(TableClient table, string studyId, string siteId, CancellationToken ct) =>
        await table.GetRowAsync(studyId, Key(siteId), ct) is { } row ? FromEntity(row) : null;
}
