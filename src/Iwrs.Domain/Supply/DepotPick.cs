namespace Iwrs.Domain.Supply;

/// <summary>Kits at the depot that look alike: one expiry date and one lot, the two things printed on a bottle.</summary>
public readonly record struct DepotBatch(DateOnly Expiry, string Lot)
{
    /// <summary>Earliest expiry first, then by lot: the order batches are tried in.</summary>
    public static IEnumerable<DepotBatch> InOrder(IEnumerable<DepotBatch> batches) =>
        batches.OrderBy(b => b.Expiry).ThenBy(b => b.Lot, StringComparer.Ordinal);
}

/// <summary>
/// Which batch (expiry date and lot) a blinded shipment's kits come from. Every kit of a blinded shipment with more
/// than one kit type comes from one batch (attacker review 8). The depot picks first expiry first, and the types are
/// used up at their own rates, so picking each type on its own would ship one type's kits from an older lot than
/// another's. Their printed dates and lots would then sort the shipment's bottles by type, and the older kits would
/// leave the site's resupply count on their own, as many as that type's subjects left unused, so the next shipment's
/// timing and size would tell the site its subjects' arms. From one batch, a shipment's kits look alike and leave the
/// count together, a number blinded staff can count.
/// The batch is chosen without looking at the shipment's mix of types (attacker review 9): the earliest batch that
/// could hold any mix of its number of kits. Chosen by the mix, an older batch short of one type would take the
/// shipments leaning the other way, and the date on the bottles would tell which way a shipment leaned.
/// Kits of a batch that can no longer fill a shipment stay at the depot.
/// </summary>
public static class DepotPick
{
    /// <summary>Whether a study's shipments must come from one batch: blinded, with more than one kit type.</summary>
    public static bool OneBatch(bool blinded, int kitTypes) => blinded && kitTypes > 1;

    /// <summary>
    /// The batch and the kits to take from it. First the earliest batch holding, of every type asked for, the whole
    /// number less one kit for each other type: every mix of that number with each type in it fits there, so the batch
    /// depends on the number and the depot only. When none does: with <paramref name="fill"/> (an automatic order or a
    /// loss's replacement, whose number blinded staff see), the earliest batch <see cref="Resupply.FillFromDepot"/> can
    /// make the same number up from (whether it can depends on the number only too); without (the depot manager's own
    /// shipment, its mix theirs), the earliest batch holding the mix asked for, so there its batch can follow its mix
    /// (refusing it would stop a depot manager shipping a batch's last kits of each type; attacker review 10, left
    /// open). Null when none can: the shipment is refused as for any depot stock-out.
    /// </summary>
    /// <param name="wanted">Kits wanted of each type (types with none are left out).</param>
    /// <param name="atDepot">Shippable kits at the depot, by batch and type.</param>
    /// <param name="fill">Whether the number of kits must be kept when no batch holds every mix.</param>
    public static (DepotBatch Batch, Dictionary<string, int> Kits)? From(
        IReadOnlyDictionary<string, int> wanted, IReadOnlyDictionary<DepotBatch, IReadOnlyDictionary<string, int>> atDepot, bool fill)
    {
        ArgumentNullException.ThrowIfNull(wanted);
        ArgumentNullException.ThrowIfNull(atDepot);
        var asked = wanted.Where(kv => kv.Value > 0).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        if (asked.Count == 0)
        {
            return null;
        }

        var batches = DepotBatch.InOrder(atDepot.Keys).ToList();
        var anyMix = asked.Values.Sum() - (asked.Count - 1);
        foreach (var batch in batches)
        {
            if (asked.Keys.All(type => atDepot[batch].GetValueOrDefault(type) >= anyMix))
            {
                return (batch, asked);
            }
        }

        foreach (var batch in batches)
        {
            if (fill)
            {
                if (Resupply.FillFromDepot(asked, atDepot[batch]) is { } filled)
                {
                    return (batch, filled);
                }
            }
            else if (asked.All(kv => atDepot[batch].GetValueOrDefault(kv.Key) >= kv.Value))
            {
                return (batch, asked);
            }
        }

        return null;
    }
}
