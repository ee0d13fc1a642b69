using System.Globalization;
using System.Security.Cryptography;
using Iwrs.Domain.Supply;
using Iwrs.Storage.Tables;

namespace Iwrs.Storage.Stores;

/// <summary>
/// Kits in the study partition. <c>kit|{number}</c> holds the kit; two index rows, kept in the same
/// transaction as every change of the kit, make each allocation a single bounded read:
/// <c>depot|{type}|{expiry}|{sort}|{number}</c> for kits at the depot and
/// <c>avail|{site}|{type}|{expiry}|{sort}|{number}</c> for kits on a site's shelf. Both sort by expiry
/// (first expiry, first out) and then by a random sort key drawn when the kit entered the index, so kits of equal
/// expiry are taken in random order.
/// </summary>
public static class KitRows
{
    public const string KitPrefix = "kit|";
    public const string DepotPrefix = "depot|";
    public const string AvailablePrefix = "avail|";

    public sealed record StoredKit(Kit Kit, string SortKey, string ETag);

    public sealed record IndexEntry(string KitNumber, string RowKey, DateOnly Expiry, string ETag);

    public static string KitKey(string kitNumber) => KitPrefix + kitNumber;

    public static string NewSortKey() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));

    public static string DepotKey(Kit kit, string sortKey) => $"{DepotPrefix}{kit.KitType}|{Kit.SortableExpiry(kit.Expiry)}|{sortKey}|{kit.KitNumber}";

    public static string AvailableKey(string siteId, Kit kit, string sortKey) => $"{AvailablePrefix}{siteId}|{kit.KitType}|{Kit.SortableExpiry(kit.Expiry)}|{sortKey}|{kit.KitNumber}";

    public static TableEntity ToEntity(string studyId, Kit kit, string sortKey)
    {
        var e = new TableEntity(studyId, KitKey(kit.KitNumber));
        e.Set("KitType", kit.KitType);
        e.Set("Lot", kit.Lot);
        e.Set("Expiry", kit.Expiry.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        e.Set("Status", Kit.Name(kit.Status));
        e.Set("Location", kit.Location);
        e.Set("SortKey", sortKey);
        if (kit.ShipmentId is not null)
        {
            e.Set("ShipmentId", kit.ShipmentId);
        }

        if (kit.SubjectId is not null)
        {
            e.Set("SubjectId", kit.SubjectId);
        }

        if (kit.Visit is not null)
        {
            e.Set("Visit", kit.Visit);
        }

        return e;
    }

    public static StoredKit FromEntity(TableEntity e) => new(
        new Kit(
            e.RowKey[KitPrefix.Length..],
            e.GetString("KitType") ?? string.Empty,
            e.GetString("Lot") ?? string.Empty,
            DateOnly.ParseExact(e.GetString("Expiry") ?? "0001-01-01", "yyyy-MM-dd", CultureInfo.InvariantCulture),
            Kit.Parse(e.GetString("Status")),
            e.GetString("Location") ?? Kit.Depot,
            e.GetString("ShipmentId"),
            e.GetString("SubjectId"),
            e.GetString("Visit")),
        e.GetString("SortKey") ?? NewSortKey(),
        e.ETag ?? string.Empty);

    /// <summary>The index row: it carries the kit number and expiry so a reader need not open the kit.</summary>
    public static TableEntity IndexEntity(string studyId, string rowKey, Kit kit)
    {
        var e = new TableEntity(studyId, rowKey);
        e.Set("KitNumber", kit.KitNumber);
        e.Set("Expiry", kit.Expiry.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        return e;
    }

    public static IndexEntry IndexFromEntity(TableEntity e) => new(
        e.GetString("KitNumber") ?? string.Empty,
        e.RowKey,
        DateOnly.ParseExact(e.GetString("Expiry") ?? "0001-01-01", "yyyy-MM-dd", CultureInfo.InvariantCulture),
        e.ETag ?? string.Empty);

    public static async Task<StoredKit?> GetAsync(TableClient table, string studyId, string kitNumber, CancellationToken ct)
    {
        var row = await table.GetEntityAsync(studyId, KitKey(kitNumber), ct: ct);
        return row is null ? null : FromEntity(row);
    }

    /// <summary>
    /// Up to <paramref name="count"/> index entries under <paramref name="prefix"/> (e.g. <c>avail|CN01|LJ-CAPS|</c>)
    /// expiring on or after <paramref name="earliestExpiry"/>, earliest first: one range read.
    /// </summary>
    public static async Task<IReadOnlyList<IndexEntry>> FirstAsync(TableClient table, string studyId, string prefix, DateOnly earliestExpiry, int count, CancellationToken ct)
    {
        var from = prefix + Kit.SortableExpiry(earliestExpiry);
        var to = prefix + "~";
        var filter = TableFilter.Create($"PartitionKey eq {studyId} and RowKey ge {from} and RowKey lt {to}");
        var page = await table.QueryPageAsync(filter, top: count, ct: ct);
        var result = page.Items.Select(IndexFromEntity).ToList();

        // The service may return fewer rows than asked (page limits); continue until enough or none left.
        var continuation = page.Continuation;
        while (result.Count < count && continuation is not null)
        {
            page = await table.QueryPageAsync(filter, top: count - result.Count, continuation: continuation, ct: ct);
            result.AddRange(page.Items.Select(IndexFromEntity));
            continuation = page.Continuation;
        }

        return result;
    }

    /// <summary>Every entry under a prefix (a site's shelf of one type: bounded by the maximum stock level).</summary>
    public static async Task<IReadOnlyList<IndexEntry>> AllAsync(TableClient table, string studyId, string prefix, CancellationToken ct)
    {
        var result = new List<IndexEntry>();
        await foreach (var row in table.QueryAsync(TableFilter.RowKeyPrefix(studyId, prefix), ct: ct))
        {
            result.Add(IndexFromEntity(row));
        }

        return result;
    }
}
