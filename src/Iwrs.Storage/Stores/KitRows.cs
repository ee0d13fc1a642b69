using System.Globalization;
using System.Security.Cryptography;
using Iwrs.Domain.Supply;
using Azure;
using Azure.Data.Tables;

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
    public const string AsidePrefix = "aside|";

    /// <summary>Kits at a site in a subject's own pack (subject packs): <c>pack|{site}|{subject}|{expiry}|{sort}|{number}</c>.</summary>
    public const string PackPrefix = "pack|";

    public sealed record StoredKit(Kit Kit, string SortKey, string ETag);

    /// <summary>An index row as read. <see cref="Lot"/>: on rows written since the depot picks by batch (null on older ones).</summary>
    public sealed record IndexEntry(string KitNumber, string RowKey, DateOnly Expiry, string ETag, string? Lot = null);

    public static string KitKey(string kitNumber) => KitPrefix + kitNumber;

    public static string NewSortKey() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));

    public static string DepotKey(Kit kit, string sortKey) => $"{DepotPrefix}{kit.KitType}|{Kit.SortableExpiry(kit.Expiry)}|{sortKey}|{kit.KitNumber}";

    public static string AvailableKey(string siteId, Kit kit, string sortKey) => $"{AvailablePrefix}{siteId}|{kit.KitType}|{Kit.SortableExpiry(kit.Expiry)}|{sortKey}|{kit.KitNumber}";

    public static string PackKey(string siteId, string subjectId, Kit kit, string sortKey) => $"{PackPrefix}{siteId}|{subjectId}|{Kit.SortableExpiry(kit.Expiry)}|{sortKey}|{kit.KitNumber}";

    /// <summary>The index row an available kit at a site is listed under: its subject's pack, or the shelf.</summary>
    private static string SiteKey(string siteId, Kit kit, string sortKey) =>
        kit.PackFor is { } subject ? PackKey(siteId, subject, kit, sortKey) : AvailableKey(siteId, kit, sortKey);

    /// <summary>The kit row. Its shape is written here only; the merges below write the same fields through it.</summary>
    public static TableEntity ToEntity(string studyId, Kit kit, string sortKey)
    {
        var e = Rows.New(studyId, KitKey(kit.KitNumber));
        e.Set("KitType", kit.KitType);
        e.Set("Lot", kit.Lot);
        e.Set("Expiry", kit.Expiry.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        e.Set("Location", kit.Location);
        e.Set("SortKey", sortKey);
        SetStarter(e, kit.Starter);
        e.Set("PackFor", kit.PackFor);
        return Movement(e, kit.Status, kit.ShipmentId, kit.SubjectId, kit.Visit);
    }

    /// <summary>The starter a kit was shipped in (subject packs), on its kit row and its shelf index row.</summary>
    private static TableEntity SetStarter(TableEntity e, StarterLabel? starter)
    {
        if (starter is not null)
        {
            e.Set("Starter", starter.Id);
            e.Set("StarterKits", starter.Kits);
            e.Set("StarterScarcest", starter.Scarcest);
        }

        return e;
    }

    private static StarterLabel? StarterOf(TableEntity e) =>
        e.GetString("Starter") is { } id ? new StarterLabel(id, e.GetInt32("StarterKits") ?? 0, e.GetInt32("StarterScarcest") ?? 0) : null;

    /// <summary>A new kit at the depot: the kit row and its depot index row.</summary>
    public static IEnumerable<TableTransactionAction> Import(string studyId, Kit kit, string sortKey) =>
    [
        new(TableTransactionActionType.Add, ToEntity(studyId, kit, sortKey)),
        new(TableTransactionActionType.Add, IndexEntity(studyId, DepotKey(kit, sortKey), kit)),
    ];

    /// <summary>
    /// Picks an indexed kit for a shipment: deleting the depot index row under its ETag is what claims the kit (a
    /// concurrent pick of the same kit fails the whole transaction), so the kit row itself is merged without a read.
    /// </summary>
    public static IEnumerable<TableTransactionAction> Ship(string studyId, IndexEntry entry, string shipmentId, StarterLabel? starter = null, string? packFor = null) =>
        starter is null && packFor is null
            ? Take(studyId, entry, KitStatus.InTransit, shipmentId, null, null)
            :
            [
                new(TableTransactionActionType.Delete, Rows.New(studyId, entry.RowKey), new ETag(entry.ETag)),
                new(TableTransactionActionType.UpdateMerge, SetStarter(Movement(Rows.New(studyId, KitKey(entry.KitNumber)), KitStatus.InTransit, shipmentId, null, null), starter).Set("PackFor", packFor), ETag.All),
            ];

    /// <summary>Takes a kit from a site's shelf for a subject's visit, claimed the same way as <see cref="Ship"/>.</summary>
    public static IEnumerable<TableTransactionAction> Dispense(string studyId, IndexEntry entry, string subjectId, string visit) =>
        Take(studyId, entry, KitStatus.Dispensed, null, subjectId, visit);

    /// <summary>A kit retired on subject packs (a used or expired starter's, a stopped subject's pack's), claimed the same way as <see cref="Dispense"/>.</summary>
    public static IEnumerable<TableTransactionAction> Retire(string studyId, IndexEntry entry) =>
        Take(studyId, entry, KitStatus.Retired, null, null, null);

    /// <summary>A kit taken off a site's shelf when a stock-out hold starts there (claimed the same way as <see cref="Dispense"/>).</summary>
    public static IEnumerable<TableTransactionAction> Quarantine(string studyId, IndexEntry entry) =>
        Take(studyId, entry, KitStatus.Quarantined, null, null, null);

    /// <summary>
    /// A received kit, replaced under the ETag it was read with; an available one also enters the site's shelf index
    /// under a fresh sort key.
    /// </summary>
    public static IEnumerable<TableTransactionAction> Receive(string studyId, StoredKit current, Kit updated, string siteId)
    {
        var sort = NewSortKey();
        yield return new(TableTransactionActionType.UpdateReplace, ToEntity(studyId, updated, sort), new ETag(current.ETag));
        if (updated.Status == KitStatus.Available)
        {
            yield return new(TableTransactionActionType.Add, IndexEntity(studyId, SiteKey(siteId, updated, sort), updated));
        }
    }

    private static IEnumerable<TableTransactionAction> Take(string studyId, IndexEntry entry, KitStatus status, string? shipmentId, string? subjectId, string? visit) =>
    [
        new(TableTransactionActionType.Delete, Rows.New(studyId, entry.RowKey), new ETag(entry.ETag)),
        new(TableTransactionActionType.UpdateMerge, Movement(Rows.New(studyId, KitKey(entry.KitNumber)), status, shipmentId, subjectId, visit), ETag.All),
    ];

    /// <summary>Where the kit is in its life; a merge leaves the fields it does not name as they are.</summary>
    private static TableEntity Movement(TableEntity e, KitStatus status, string? shipmentId, string? subjectId, string? visit)
    {
        e.Set("Status", Kit.Name(status));
        e.Set("ShipmentId", shipmentId);
        e.Set("SubjectId", subjectId);
        e.Set("Visit", visit);
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
            e.GetString("Visit"),
            StarterOf(e),
            e.GetString("PackFor")),
        e.GetString("SortKey") ?? NewSortKey(),
        e.Tag());

    /// <summary>The index row: it carries the kit number, expiry and lot so a reader need not open the kit.</summary>
    public static TableEntity IndexEntity(string studyId, string rowKey, Kit kit) => SetStarter(IndexEntity(studyId, rowKey, kit.KitNumber, kit.Expiry, null).Set("Lot", kit.Lot), kit.Starter);

    private static TableEntity IndexEntity(string studyId, string rowKey, string kitNumber, DateOnly expiry, string? lossId)
    {
        var e = Rows.New(studyId, rowKey);
        e.Set("KitNumber", kitNumber);
        e.Set("Expiry", expiry.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        e.Set("Loss", lossId);
        return e;
    }

    public static IndexEntry IndexFromEntity(TableEntity e) => new(
        e.GetString("KitNumber") ?? string.Empty,
        e.RowKey,
        DateOnly.ParseExact(e.GetString("Expiry") ?? "0001-01-01", "yyyy-MM-dd", CultureInfo.InvariantCulture),
        e.Tag(),
        e.GetString("Lot"));

    /// <summary>
    /// Every kit of the study (the kit import checks a new list against them: kits sent again with other data, and
    /// numbering that tells the type within a batch): one range read of the <c>kit|</c> rows.
    /// </summary>
    public static async Task<IReadOnlyList<Kit>> AllAsync(TableClient table, string studyId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(table);
        var result = new List<Kit>();
        await foreach (var row in table.QueryPrefixAsync(studyId, KitPrefix, ct))
        {
            result.Add(FromEntity(row).Kit);
        }

        return result;
    }

    public static async Task<StoredKit?> GetAsync(TableClient table, string studyId, string kitNumber, CancellationToken ct)
    {
        var row = await table.GetRowAsync(studyId, KitKey(kitNumber), ct);
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
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {studyId} and RowKey ge {from} and RowKey lt {to}");
        return (await table.FirstAsync(filter, count, ct)).Select(IndexFromEntity).ToList();
    }

    /// <summary>One kit on a site's shelf, with its type (the shelf index row's key carries it), and the starter it came in (subject packs).</summary>
    public sealed record ShelfEntry(string KitType, IndexEntry Entry, StarterLabel? Starter = null);

    /// <summary>
    /// Every kit on a site's shelf, of every type, in one range read (<c>avail|{site}|</c>: bounded by the site's
    /// maximum stock level), with only the index columns. Callers keep the kits usable for what they do.
    /// </summary>
    public static async Task<IReadOnlyList<ShelfEntry>> ShelfAsync(TableClient table, string studyId, string siteId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(table);
        var prefix = $"{AvailablePrefix}{siteId}|";
        var result = new List<ShelfEntry>();
        await foreach (var row in table.QueryAsync<TableEntity>(Rows.PrefixFilter(studyId, prefix), select: ["RowKey", "KitNumber", "Expiry", "Starter", "StarterKits", "StarterScarcest"], cancellationToken: ct))
        {
            result.Add(new ShelfEntry(TypeIn(row.RowKey, prefix), IndexFromEntity(row), StarterOf(row)));
        }

        return result;
    }

    /// <summary>The kits at a site in <paramref name="subjectId"/>'s own pack (subject packs), earliest expiry first: one range read.</summary>
    public static async Task<IReadOnlyList<IndexEntry>> PackAsync(TableClient table, string studyId, string siteId, string subjectId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(table);
        var result = new List<IndexEntry>();
        await foreach (var row in table.QueryPrefixAsync(studyId, $"{PackPrefix}{siteId}|{subjectId}|", ct))
        {
            result.Add(IndexFromEntity(row));
        }

        return result;
    }

    /// <summary>A kit at a site in a subject's pack: whose, and its index entry.</summary>
    public sealed record PackEntry(string SubjectId, IndexEntry Entry);

    /// <summary>Every kit at a site in its subjects' packs (subject packs): one range read.</summary>
    public static async Task<IReadOnlyList<PackEntry>> PacksAtSiteAsync(TableClient table, string studyId, string siteId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(table);
        var prefix = $"{PackPrefix}{siteId}|";
        var result = new List<PackEntry>();
        await foreach (var row in table.QueryPrefixAsync(studyId, prefix, ct))
        {
            result.Add(new PackEntry(TypeIn(row.RowKey, prefix), IndexFromEntity(row)));
        }

        return result;
    }

    /// <summary>One kit set aside at a site: its type, its index entry and the loss it is set aside for.</summary>
    public sealed record AsideEntry(string KitType, IndexEntry Entry, string LossId);

    /// <summary>
    /// A kit on the shelf set aside for a loss: its shelf index row is deleted under the ETag it was read with (which
    /// claims it against a dispensing), the kit row merged, and its set-aside row added.
    /// </summary>
    public static IEnumerable<TableTransactionAction> SetAsideFromShelf(string studyId, ShelfEntry kit, string lossId) =>
    [
        .. Take(studyId, kit.Entry, KitStatus.SetAside, null, null, null),
        new(TableTransactionActionType.Add, IndexEntity(studyId, AsidePrefix + kit.Entry.RowKey[AvailablePrefix.Length..], kit.Entry.KitNumber, kit.Entry.Expiry, lossId)),
    ];

    /// <summary>A set-aside kit now waiting for another loss (its own loss merged into it): its row's loss, under its ETag.</summary>
    public static TableTransactionAction Retag(string studyId, AsideEntry kit, string lossId)
    {
        var e = Rows.New(studyId, kit.Entry.RowKey);
        e.Set("Loss", lossId);
        return new(TableTransactionActionType.UpdateMerge, e, new ETag(kit.Entry.ETag));
    }

    /// <summary>A kit of a shipment being released that is set aside at once instead of reaching the shelf index.</summary>
    public static IEnumerable<TableTransactionAction> ReceiveSetAside(string studyId, StoredKit current, string siteId, string lossId)
    {
        var sort = NewSortKey();
        var kit = current.Kit with { Status = KitStatus.SetAside, Location = siteId };
        yield return new(TableTransactionActionType.UpdateReplace, ToEntity(studyId, kit, sort), new ETag(current.ETag));
        yield return new(TableTransactionActionType.Add, IndexEntity(studyId, AsidePrefix + AvailableKey(siteId, kit, sort)[AvailablePrefix.Length..], kit.KitNumber, kit.Expiry, lossId));
    }

    /// <summary>A set-aside kit back on the shelf (its loss's replacement was released): claimed by deleting its set-aside row under its ETag.</summary>
    public static IEnumerable<TableTransactionAction> ReturnToShelf(string studyId, AsideEntry kit) =>
    [
        .. Take(studyId, kit.Entry, KitStatus.Available, null, null, null),
        new(TableTransactionActionType.Add, IndexEntity(studyId, AvailablePrefix + kit.Entry.RowKey[AsidePrefix.Length..], kit.Entry.KitNumber, kit.Entry.Expiry, null)),
    ];

    /// <summary>
    /// A kit reported damaged or missing at a site, from the shelf or set aside: its index row is deleted under the
    /// ETag it was read with (a concurrent dispensing, set-aside or report of it fails the transaction), and the kit
    /// row replaced under its own.
    /// </summary>
    public static IEnumerable<TableTransactionAction> Report(string studyId, StoredKit current, IndexEntry index, KitStatus status) =>
    [
        new(TableTransactionActionType.Delete, Rows.New(studyId, index.RowKey), new ETag(index.ETag)),
        new(TableTransactionActionType.UpdateReplace, ToEntity(studyId, current.Kit with { Status = status }, current.SortKey), new ETag(current.ETag)),
    ];

    /// <summary>Every kit set aside at a site, in one range read (a few kits: losses not yet replaced).</summary>
    public static async Task<IReadOnlyList<AsideEntry>> AsideAsync(TableClient table, string studyId, string siteId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(table);
        var prefix = $"{AsidePrefix}{siteId}|";
        var result = new List<AsideEntry>();
        await foreach (var row in table.QueryPrefixAsync(studyId, prefix, ct))
        {
            result.Add(new AsideEntry(TypeIn(row.RowKey, prefix), IndexFromEntity(row), row.GetString("Loss") ?? string.Empty));
        }

        return result;
    }

    /// <summary>
    /// <paramref name="entries"/> with their lot: a row written before index rows carried it gets it from its kit row
    /// (a point read each, a few at a time), so such kits are never taken for one batch with another lot's.
    /// </summary>
    public static async Task<IReadOnlyList<IndexEntry>> WithLotsAsync(TableClient table, string studyId, IReadOnlyList<IndexEntry> entries, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.All(e => e.Lot is not null))
        {
            return entries;
        }

        using var gate = new SemaphoreSlim(16);
        return await Task.WhenAll(entries.Select(async e =>
        {
            if (e.Lot is not null)
            {
                return e;
            }

            await gate.WaitAsync(ct);
            try
            {
                var kit = await GetAsync(table, studyId, e.KitNumber, ct);
                return e with { Lot = kit?.Kit.Lot ?? string.Empty };
            }
            finally
            {
                gate.Release();
            }
        }));
    }

    /// <summary>The kit type in a site index row's key (<c>{prefix}{type}|…</c>).</summary>
    private static string TypeIn(string rowKey, string prefix)
    {
        var rest = rowKey.AsSpan(prefix.Length);
        var bar = rest.IndexOf('|');
        return bar < 0 ? string.Empty : rest[..bar].ToString();
    }

    /// <summary>
    /// The index row a kit on a site's shelf is listed under — the shelf's, or the set-aside one with the loss it names
    /// — read by its key (the kit row carries everything in it); null when it is not there.
    /// </summary>
    public static async Task<(IndexEntry Entry, string? LossId)?> IndexRowAsync(TableClient table, string studyId, StoredKit kit, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(kit);
        var available = SiteKey(kit.Kit.Location, kit.Kit, kit.SortKey);
        var key = kit.Kit.Status == KitStatus.SetAside ? AsidePrefix + available[AvailablePrefix.Length..] : available;
        return await table.GetRowAsync(studyId, key, ct) is { } row ? (IndexFromEntity(row), row.GetString("Loss")) : null;
    }
}
