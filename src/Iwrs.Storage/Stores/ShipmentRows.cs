using System.Globalization;
using System.Text.Json;
using Iwrs.Domain.Supply;
using Iwrs.Storage.Tables;

namespace Iwrs.Storage.Stores;

/// <summary>
/// Shipments (<c>shipment|{id}</c>) and the open-shipment index (<c>shipment-open|{site}|{id}</c>, per-type
/// counts of kits still on the way) that the resupply check reads instead of every shipment ever made.
/// </summary>
public static class ShipmentRows
{
    public const string Prefix = "shipment|";
    public const string OpenPrefix = "shipment-open|";
    public const string CounterKey = "counter|shipment-number";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public sealed record StoredShipment(Shipment Shipment, string ETag);

    public sealed record OpenShipment(string ShipmentId, IReadOnlyDictionary<string, int> InTransit, string ETag);

    private sealed record KitLine(string KitNumber, string KitType, string Condition);

    public static string Key(string shipmentId) => Prefix + shipmentId;

    public static string OpenKey(string siteId, string shipmentId) => $"{OpenPrefix}{siteId}|{shipmentId}";

    public static string FormatId(long sequence) => "SH" + sequence.ToString("D4", CultureInfo.InvariantCulture);

    public static TableEntity ToEntity(string studyId, Shipment s)
    {
        var e = new TableEntity(studyId, Key(s.ShipmentId));
        e.Set("SiteId", s.SiteId);
        e.Set("Status", Shipment.Name(s.Status));
        e.Set("Kits", JsonSerializer.Serialize(s.Kits.Select(k => new KitLine(k.KitNumber, k.KitType, Shipment.Name(k.Condition))), Json));
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

        return e;
    }

    public static StoredShipment FromEntity(TableEntity e)
    {
        var lines = JsonSerializer.Deserialize<List<KitLine>>(e.GetString("Kits") ?? "[]", Json) ?? [];
        var status = e.GetString("Status") switch
        {
            "requested" => ShipmentStatus.Requested,
            "dispatched" => ShipmentStatus.Dispatched,
            _ => ShipmentStatus.Received,
        };
        return new StoredShipment(
            new Shipment(
                e.RowKey[Prefix.Length..],
                e.GetString("SiteId") ?? string.Empty,
                status,
                lines.Select(l => new ShipmentKit(l.KitNumber, l.KitType, Shipment.TryParseCondition(l.Condition, out var c) ? c : KitCondition.Pending)).ToList(),
                e.GetString("Reason") ?? string.Empty,
                e.GetDateTimeOffset("CreatedAt") ?? DateTimeOffset.MinValue,
                e.GetString("CreatedBy") ?? string.Empty,
                e.GetDateTimeOffset("DispatchedAt"),
                e.GetDateTimeOffset("ReceivedAt")),
            e.ETag ?? string.Empty);
    }

    public static async Task<StoredShipment?> GetAsync(TableClient table, string studyId, string shipmentId, CancellationToken ct)
    {
        var row = await table.GetEntityAsync(studyId, Key(shipmentId), ct: ct);
        return row is null ? null : FromEntity(row);
    }

    public static TableEntity OpenEntity(string studyId, Shipment s)
    {
        var e = new TableEntity(studyId, OpenKey(s.SiteId, s.ShipmentId));
        var pending = s.Kits.Where(k => k.Condition == KitCondition.Pending).GroupBy(k => k.KitType).ToDictionary(g => g.Key, g => g.Count());
        e.Set("InTransit", JsonSerializer.Serialize(pending, Json));
        return e;
    }

    public static async Task<IReadOnlyList<OpenShipment>> OpenForSiteAsync(TableClient table, string studyId, string siteId, CancellationToken ct)
    {
        var result = new List<OpenShipment>();
        await foreach (var row in table.QueryAsync(TableFilter.RowKeyPrefix(studyId, $"{OpenPrefix}{siteId}|"), ct: ct))
        {
            result.Add(new OpenShipment(
                row.RowKey[(OpenPrefix.Length + siteId.Length + 1)..],
                JsonSerializer.Deserialize<Dictionary<string, int>>(row.GetString("InTransit") ?? "{}", Json) ?? [],
                row.ETag ?? string.Empty));
        }

        return result;
    }

    public static Task<Counter> GetCounterAsync(TableClient table, string studyId, CancellationToken ct) =>
        Counter.GetAsync(table, studyId, CounterKey, ct);
}
