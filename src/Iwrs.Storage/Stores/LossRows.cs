using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;

namespace Iwrs.Storage.Stores;

/// <summary>
/// A loss at a site not yet replaced: <c>loss|{site}|{id}</c>, written in the transaction that records the loss. It
/// carries the lost kits per type (unblinded: only the replacement's order reads it), whether it holds the site (a
/// kit lost from the shelf in a blinded study) and, once ordered, the replacement shipment's id, written under the
/// row's ETag in the shipment's own transaction, so a loss is replaced once however many orders race. Releasing that
/// shipment returns the kits set aside for the loss (<see cref="KitRows.AsidePrefix"/> rows name it) and deletes the
/// row; more kits than one transaction holds are returned by the transactions that follow, the row marked
/// <c>Returning</c> meanwhile.
/// </summary>
public static class LossRows
{
    public const string Prefix = "loss|";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>
    /// <paramref name="ShipmentId"/>: the shipment that lost the kits at receipt (null: a kit lost from the shelf).
    /// <paramref name="SourceReleased"/> / <paramref name="ReplacementReleased"/>: which of the two shipments was
    /// released first, its ok kits set aside for this loss until the other is. <paramref name="WaitsFor"/>: the loss of a
    /// set-aside kit: this loss's replacement waits, set aside, for the loss that kit was set aside for.
    /// </summary>
    public sealed record Loss(
        string SiteId, string LossId, IReadOnlyDictionary<string, int> Lost, string? ReplacementId, DateTimeOffset At, string? ETag = null,
        bool Holds = false, bool Returning = false, string? ShipmentId = null, bool SourceReleased = false, bool ReplacementReleased = false, string? WaitsFor = null);

    public static string Key(string siteId, string lossId) => $"{Prefix}{siteId}|{lossId}";

    /// <summary>A new loss id: its time first (losses list in order), then a random part.</summary>
    public static string NewId(DateTimeOffset now) =>
        now.UtcDateTime.ToString("yyyyMMddHHmmssfff", CultureInfo.InvariantCulture) + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));

    public static TableTransactionAction Insert(string studyId, Loss loss) => new(TableTransactionActionType.Add, ToEntity(studyId, loss));

    /// <summary>The loss's replacement is ordered: written under the ETag it was read with.</summary>
    public static TableTransactionAction Link(string studyId, Loss loss, string shipmentId) =>
        new(TableTransactionActionType.UpdateReplace, ToEntity(studyId, loss with { ReplacementId = shipmentId }), new ETag(loss.ETag!));

    /// <summary>The loss as it now stands, under the ETag it was read with.</summary>
    public static TableTransactionAction Replace(string studyId, Loss loss) =>
        new(TableTransactionActionType.UpdateReplace, ToEntity(studyId, loss), new ETag(loss.ETag!));

    public static TableTransactionAction Delete(string studyId, Loss loss) =>
        new(TableTransactionActionType.Delete, Rows.New(studyId, Key(loss.SiteId, loss.LossId)), new ETag(loss.ETag!));

    private static TableEntity ToEntity(string studyId, Loss loss)
    {
        var e = Rows.New(studyId, Key(loss.SiteId, loss.LossId));
        e.Set("Lost", JsonSerializer.Serialize(loss.Lost, Json));
        e.Set("ReplacementId", loss.ReplacementId);
        e.Set("At", loss.At);
        e.Set("Holds", loss.Holds ? true : null);
        e.Set("Returning", loss.Returning ? true : null);
        e.Set("ShipmentId", loss.ShipmentId);
        e.Set("SourceReleased", loss.SourceReleased ? true : null);
        e.Set("ReplacementReleased", loss.ReplacementReleased ? true : null);
        e.Set("WaitsFor", loss.WaitsFor);
        return e;
    }

    private static Loss FromEntity(TableEntity e)
    {
        var rest = e.RowKey[Prefix.Length..];
        var bar = rest.LastIndexOf('|');
        var lost = e.GetString("Lost") is { } json ? JsonSerializer.Deserialize<Dictionary<string, int>>(json, Json) ?? [] : new Dictionary<string, int>();
        return new(rest[..bar], rest[(bar + 1)..], lost, e.GetString("ReplacementId"), e.GetDateTimeOffset("At") ?? DateTimeOffset.MinValue, e.Tag(), e.GetBoolean("Holds") ?? false, e.GetBoolean("Returning") ?? false,
            e.GetString("ShipmentId"), e.GetBoolean("SourceReleased") ?? false, e.GetBoolean("ReplacementReleased") ?? false, e.GetString("WaitsFor"));
    }

    public static async Task<Loss?> GetAsync(TableClient table, string studyId, string siteId, string lossId, CancellationToken ct) =>
        await table.GetRowAsync(studyId, Key(siteId, lossId), ct) is { } row ? FromEntity(row) : null;

    /// <summary>The site's losses not yet replaced, oldest first.</summary>
    public static async Task<IReadOnlyList<Loss>> ForSiteAsync(TableClient table, string studyId, string siteId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(table);
        var result = new List<Loss>();
        await foreach (var row in table.QueryPrefixAsync(studyId, $"{Prefix}{siteId}|", ct))
        {
            result.Add(FromEntity(row));
        }

        return result;
    }
}
