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
            .OrderBy(g => Order(g.Key).Shipment, StringComparer.Ordinal).ThenBy(g => Order(g.Key).Number)
            .Select(g => new OnShelf(SubjectPacks.FromShelf(g.First().Starter!, g.Min(k => k.Entry.Expiry), g.Count()), [.. g])),
    ];

    private static (string Shipment, int Number) Order(string starterId)
    {
        var dash = starterId.LastIndexOf('-');
        return dash < 0 || !int.TryParse(starterId.AsSpan(dash + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n)
            ? (starterId, 0)
            : (starterId[..dash], n);
    }
}
