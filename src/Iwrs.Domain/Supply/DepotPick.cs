namespace Iwrs.Domain.Supply;

/// <summary>
/// Which expiry date a blinded shipment's kits come from. Every kit of a blinded shipment with more than one kit type
/// comes from one date (attacker review 8). The depot picks first expiry first, and the types are used up at their
/// own rates, so picking each type on its own would ship one type's kits from an older lot than another's. Their
/// printed dates would then sort the shipment's bottles by type, and the older kits would leave the site's resupply
/// count on their own, as many as that type's subjects left unused, so the next shipment's timing and size would tell
/// the site its subjects' arms. From one date, a shipment's kits look alike and leave the count together, a number
/// blinded staff can count. Kits of a date that can no longer fill a shipment stay at the depot.
/// </summary>
public static class DepotPick
{
    /// <summary>Whether a study's shipments must come from one date: blinded, with more than one kit type.</summary>
    public static bool OneDate(bool blinded, int kitTypes) => blinded && kitTypes > 1;

    /// <summary>
    /// The earliest date holding every wanted type's count and the kits to take from it; when no date does and
    /// <paramref name="fill"/> is set (an automatic order or a loss's replacement, whose size blinded staff see), the
    /// earliest date <see cref="Resupply.FillFromDepot"/> can make the same number up from. Null when no date can: the
    /// shipment is refused as for any depot stock-out.
    /// </summary>
    /// <param name="wanted">Kits wanted of each type (types with none are left out).</param>
    /// <param name="atDepot">Shippable kits at the depot, by expiry date and type.</param>
    /// <param name="fill">Whether the number of kits must be kept when no date holds the composition wanted.</param>
    public static (DateOnly Date, Dictionary<string, int> Kits)? From(
        IReadOnlyDictionary<string, int> wanted, IReadOnlyDictionary<DateOnly, IReadOnlyDictionary<string, int>> atDepot, bool fill)
    {
        ArgumentNullException.ThrowIfNull(wanted);
        ArgumentNullException.ThrowIfNull(atDepot);
        var asked = wanted.Where(kv => kv.Value > 0).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        if (asked.Count == 0)
        {
            return null;
        }

        var dates = atDepot.Keys.Order().ToList();
        foreach (var date in dates)
        {
            if (asked.All(kv => atDepot[date].GetValueOrDefault(kv.Key) >= kv.Value))
            {
                return (date, asked);
            }
        }

        if (fill)
        {
            foreach (var date in dates)
            {
                if (Resupply.FillFromDepot(asked, atDepot[date]) is { } filled)
                {
                    return (date, filled);
                }
            }
        }

        return null;
    }
}
