using Iwrs.Domain.Supply;
using Iwrs.Storage.Stores;

namespace Iwrs.Functions.Features;

/// <summary>
/// The starters on a site's shelf (subject packs), from the shelf index alone: each with its kits there and its counts
/// as the rules see them (<see cref="SubjectPacks.FromShelf"/>), oldest first (by shipment, then number in it: <c>SH0007-2</c>).
/// </summary>
internal static class Starters
{
    public sealed record OnShelf(Starter Counts, IReadOnlyList<KitRows.ShelfEntry> Kits);

    public static List<OnShelf> Of(IEnumerable<KitRows.ShelfEntry> shelf) =>
    [
        .. shelf.Where(k => k.Starter is not null).GroupBy(k => k.Starter!.Id, StringComparer.Ordinal)
            .OrderBy(g => Order(g.Key).Shipment).ThenBy(g => Order(g.Key).Number).ThenBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new OnShelf(SubjectPacks.FromShelf(g.First().Starter!, g.Min(k => k.Entry.Expiry), g.Count()), [.. g])),
    ];

    /// <summary>A starter id's shipment sequence and number in it (<c>SH10007-2</c>: 10007, 2), compared as numbers.</summary>
    private static (long Shipment, int Number) Order(string starterId)
    {
        var dash = starterId.LastIndexOf('-');
        var culture = System.Globalization.CultureInfo.InvariantCulture;
        return dash > 2
            && long.TryParse(starterId.AsSpan(2, dash - 2), System.Globalization.NumberStyles.None, culture, out var shipment)
            && int.TryParse(starterId.AsSpan(dash + 1), System.Globalization.NumberStyles.None, culture, out var n)
            ? (shipment, n)
            : (long.MaxValue, 0);
    }
}
