using System.Globalization;
using Azure;
using Azure.Data.Tables;

namespace Iwrs.Storage.Stores;

/// <summary>
/// A subject's pack ledger on subject packs: <c>pack-order|{site}|{subject}</c>. It carries what the depot owes the
/// subject and what is on the way: <see cref="Ledger.Ordered"/> kits not shipped yet, to leave by
/// <see cref="Ledger.ShipBy"/> with at least <see cref="Ledger.Earliest"/> as expiry, and <see cref="Ledger.InTransit"/>
/// kits shipped and not yet released at the site. The kits on the site for the subject are their pack index rows
/// (<see cref="KitRows.PackPrefix"/>). Written under its ETag in the transaction that changes it (a randomization, a
/// dispensing, a shipment, a release).
/// </summary>
public static class PackRows
{
    public const string Prefix = "pack-order|";

    /// <summary>
    /// The ledger; <paramref name="KitType"/> is the subject's (unblinded, read by the system's own shipping only).
    /// <paramref name="LateOrderAfter"/>: the visits the subject had done when the timer last owed them a pack for a
    /// late visit (their pack's kits past the limit), so it does so once per visit: a subject who stops coming is not
    /// shipped a pack every time one expires.
    /// </summary>
    public sealed record Ledger(string SiteId, string SubjectId, string KitType, int Ordered, int InTransit, DateOnly ShipBy, DateOnly Earliest, string? ETag = null, int? LateOrderAfter = null);

    public static string Key(string siteId, string subjectId) => $"{Prefix}{siteId}|{subjectId}";

    /// <summary>The ledger as it should now be: added when new, replaced under its ETag otherwise.</summary>
    public static TableTransactionAction Write(string studyId, Ledger ledger) => ledger.ETag is null
        ? new(TableTransactionActionType.Add, ToEntity(studyId, ledger))
        : new(TableTransactionActionType.UpdateReplace, ToEntity(studyId, ledger), new ETag(ledger.ETag));

    public static TableTransactionAction Delete(string studyId, Ledger ledger) =>
        new(TableTransactionActionType.Delete, Rows.New(studyId, Key(ledger.SiteId, ledger.SubjectId)), new ETag(ledger.ETag!));

    private static TableEntity ToEntity(string studyId, Ledger l)
    {
        var e = Rows.New(studyId, Key(l.SiteId, l.SubjectId));
        e.Set("KitType", l.KitType);
        e.Set("Ordered", l.Ordered);
        e.Set("InTransit", l.InTransit);
        e.Set("ShipBy", l.ShipBy.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        e.Set("Earliest", l.Earliest.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        if (l.LateOrderAfter is { } after)
        {
            e.Set("LateOrderAfter", after);
        }

        return e;
    }

    private static Ledger FromEntity(TableEntity e)
    {
        var rest = e.RowKey[Prefix.Length..];
        var bar = rest.IndexOf('|', StringComparison.Ordinal);
        return new Ledger(
            rest[..bar],
            rest[(bar + 1)..],
            e.GetString("KitType") ?? string.Empty,
            e.GetInt32("Ordered") ?? 0,
            e.GetInt32("InTransit") ?? 0,
            DateOnly.ParseExact(e.GetString("ShipBy") ?? "0001-01-01", "yyyy-MM-dd", CultureInfo.InvariantCulture),
            DateOnly.ParseExact(e.GetString("Earliest") ?? "0001-01-01", "yyyy-MM-dd", CultureInfo.InvariantCulture),
            e.Tag(),
            e.GetInt32("LateOrderAfter"));
    }

    public static async Task<Ledger?> GetAsync(TableClient table, string studyId, string siteId, string subjectId, CancellationToken ct) =>
        await table.GetRowAsync(studyId, Key(siteId, subjectId), ct) is { } row ? FromEntity(row) : null;

    /// <summary>Every pack ledger of a site: one range read (a row per subject on treatment there).</summary>
    public static async Task<IReadOnlyList<Ledger>> ForSiteAsync(TableClient table, string studyId, string siteId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(table);
        var result = new List<Ledger>();
        await foreach (var row in table.QueryPrefixAsync(studyId, $"{Prefix}{siteId}|", ct))
        {
            result.Add(FromEntity(row));
        }

        return result;
    }
}
