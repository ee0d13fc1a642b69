using System.Globalization;
using System.Text.Json;
using Iwrs.Domain.Supply;
using Azure;
using Azure.Data.Tables;

namespace Iwrs.Storage.Stores;

/// <summary>
/// Shipments (<c>shipment|{id}</c>) and the open-shipment index (<c>shipment-open|{site}|{id}</c>, per-type
/// counts of kits still on their way to the shelf: until the shipment is released) that the resupply check reads instead of every shipment ever made.
/// </summary>
public static class ShipmentRows
{
    public const string Prefix = "shipment|";
    public const string OpenPrefix = "shipment-open|";
    public const string CounterKey = "counter|shipment-number";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };

    public sealed record StoredShipment(Shipment Shipment, string ETag);

    /// <summary>
    /// A shipment still on its way to the shelf: per type, its kits not reported lost; and, in a study on subject packs,
    /// its starters with their kits not reported lost (what they will serve once released: <see cref="SubjectPacks.Capacity"/>).
    /// </summary>
    public sealed record OpenShipment(string ShipmentId, IReadOnlyDictionary<string, int> InTransit, string ETag, IReadOnlyList<StarterInTransit>? Starters = null);

    /// <summary>A starter on its way: its label and its kits not reported damaged or missing.</summary>
    public sealed record StarterInTransit(StarterLabel Starter, int Remaining);

    /// <summary>A shipment's kit as stored; the starter fields are absent outside subject packs (and on shipments stored before them).</summary>
    private sealed record KitLine(string KitNumber, string KitType, string Condition, string? Starter = null, int? StarterKits = null, int? StarterScarcest = null, string? PackFor = null);

    private sealed record StarterLine(string Id, int Kits, int Scarcest, int Remaining);

    public static string Key(string shipmentId) => Prefix + shipmentId;

    public static string OpenKey(string siteId, string shipmentId) => $"{OpenPrefix}{siteId}|{shipmentId}";

    public static string FormatId(long sequence) => "SH" + sequence.ToString("D4", CultureInfo.InvariantCulture);

    public static TableEntity ToEntity(string studyId, Shipment s)
    {
        var e = Rows.New(studyId, Key(s.ShipmentId));
        e.Set("SiteId", s.SiteId);
        e.Set("Status", Shipment.Name(s.Status));
        e.Set("Kits", JsonSerializer.Serialize(s.Kits.Select(k => new KitLine(k.KitNumber, k.KitType, Shipment.Name(k.Condition), k.Starter?.Id, k.Starter?.Kits, k.Starter?.Scarcest, k.PackFor)), Json));
        e.Set("Reason", s.Reason);
        e.Set("CreatedAt", s.CreatedAt);
        e.Set("CreatedBy", s.CreatedBy);
        if (s.DispatchedAt is { } dispatched)
        {
            e.Set("DispatchedAt", dispatched);
        }

        if (s.ReceivedAt is { } received)
        {
            e.Set("ReceivedAt", received);
        }

        if (s.ReleasedAt is { } released)
        {
            e.Set("ReleasedAt", released);
        }

        return e;
    }

    /// <summary>A new shipment and its open-shipment index row.</summary>
    public static IEnumerable<TableTransactionAction> Insert(string studyId, Shipment s) =>
    [
        new(TableTransactionActionType.Add, ToEntity(studyId, s)),
        new(TableTransactionActionType.Add, OpenEntity(studyId, s)),
    ];

    /// <summary>The shipment as changed, guarded by the ETag it was read with.</summary>
    public static TableTransactionAction Replace(string studyId, Shipment s, string etag) =>
        new(TableTransactionActionType.UpdateReplace, ToEntity(studyId, s), new ETag(etag));

    /// <summary>After a receipt or release: a released shipment leaves the open index; otherwise its in-transit counts are rewritten.</summary>
    public static TableTransactionAction UpdateOpen(string studyId, Shipment s) =>
        s.Status == ShipmentStatus.Received
            ? new(TableTransactionActionType.Delete, Rows.New(studyId, OpenKey(s.SiteId, s.ShipmentId)), ETag.All)
            : new(TableTransactionActionType.UpsertReplace, OpenEntity(studyId, s));

    public static StoredShipment FromEntity(TableEntity e)
    {
        var lines = JsonSerializer.Deserialize<List<KitLine>>(e.GetString("Kits") ?? "[]", Json) ?? [];
        var status = e.GetString("Status") switch
        {
            "requested" => ShipmentStatus.Requested,
            "dispatched" => ShipmentStatus.Dispatched,
            "awaiting-release" => ShipmentStatus.AwaitingRelease,
            _ => ShipmentStatus.Received,
        };
        return new StoredShipment(
            new Shipment(
                e.RowKey[Prefix.Length..],
                e.GetString("SiteId") ?? string.Empty,
                status,
                lines.Select(l => new ShipmentKit(
                    l.KitNumber, l.KitType, Shipment.TryParseCondition(l.Condition, out var c) ? c : KitCondition.Pending,
                    l.Starter is { } starter ? new StarterLabel(starter, l.StarterKits ?? 0, l.StarterScarcest ?? 0) : null,
                    l.PackFor)).ToList(),
                e.GetString("Reason") ?? string.Empty,
                e.GetDateTimeOffset("CreatedAt") ?? DateTimeOffset.MinValue,
                e.GetString("CreatedBy") ?? string.Empty,
                e.GetDateTimeOffset("DispatchedAt"),
                e.GetDateTimeOffset("ReceivedAt"),
                e.GetDateTimeOffset("ReleasedAt")),
            e.Tag());
    }

    public static async Task<StoredShipment?> GetAsync(TableClient table, string studyId, string shipmentId, CancellationToken ct)
    {
        var row = await table.GetRowAsync(studyId, Key(shipmentId), ct);
        return row is null ? null : FromEntity(row);
    }

    public static TableEntity OpenEntity(string studyId, Shipment s)
    {
        var e = Rows.New(studyId, OpenKey(s.SiteId, s.ShipmentId));
        // Kits still to reach the shelf: not reported yet, or reported ok in a shipment not yet released.
        var pending = s.Kits.Where(k => k.Condition is KitCondition.Pending or KitCondition.Ok).GroupBy(k => k.KitType).ToDictionary(g => g.Key, g => g.Count());
        e.Set("InTransit", JsonSerializer.Serialize(pending, Json));
        var starters = s.Kits.Where(k => k.Starter is not null).GroupBy(k => k.Starter!).Select(g => new StarterLine(
            g.Key.Id, g.Key.Kits, g.Key.Scarcest, g.Count(k => k.Condition is KitCondition.Pending or KitCondition.Ok))).ToList();
        if (starters.Count > 0)
        {
            e.Set("Starters", JsonSerializer.Serialize(starters, Json));
        }

        return e;
    }

    public static async Task<IReadOnlyList<OpenShipment>> OpenForSiteAsync(TableClient table, string studyId, string siteId, CancellationToken ct)
    {
        var result = new List<OpenShipment>();
        await foreach (var row in table.QueryPrefixAsync(studyId, $"{OpenPrefix}{siteId}|", ct))
        {
            var starters = JsonSerializer.Deserialize<List<StarterLine>>(row.GetString("Starters") ?? "[]", Json) ?? [];
            result.Add(new OpenShipment(
                row.RowKey[(OpenPrefix.Length + siteId.Length + 1)..],
                JsonSerializer.Deserialize<Dictionary<string, int>>(row.GetString("InTransit") ?? "{}", Json) ?? [],
                row.Tag(),
                [.. starters.Select(l => new StarterInTransit(new StarterLabel(l.Id, l.Kits, l.Scarcest), l.Remaining))]));
        }

        return result;
    }

    /// <summary>Every shipment of a study (the shipment list; not on a per-subject path).</summary>
    public static async Task<IReadOnlyList<StoredShipment>> AllAsync(TableClient table, string studyId, CancellationToken ct)
    {
        var result = new List<StoredShipment>();
        await foreach (var row in table.QueryPrefixAsync(studyId, Prefix, ct))
        {
            result.Add(FromEntity(row));
        }

        return result;
    }

    public static Task<Counter> GetCounterAsync(TableClient table, string studyId, CancellationToken ct) =>
        Counter.GetAsync(table, studyId, CounterKey, ct);
}
