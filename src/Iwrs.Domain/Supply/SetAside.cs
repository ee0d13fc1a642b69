namespace Iwrs.Domain.Supply;

/// <summary>
/// What a loss at a blinded site sets aside. When kits are lost (reported damaged or missing at receipt, or from the
/// shelf after release), the kits left would otherwise tell which were lost: the type they were of now has fewer, and
/// a later stock-out comes sooner for it. So with L kits lost, of which u of type t were usable, L − u kits of type t are
/// set aside: every type's usable count falls by L whichever kits were reported, a count blinded staff know. The kits
/// set aside stay on the shelf, listed like every other kit to blinded staff, are never dispensed, and return to use
/// when the loss's replacement (the lost kits' types plus one kit of every type) is released; a stock-out hold at the
/// site quarantines them with the rest of the shelf. A kit that was not usable any more when lost (past its dispensing
/// limit, or already set aside) counts in L but not in u, so the types still fall evenly (attacker review M1).
/// </summary>
public static class SetAside
{
    /// <summary>How many kits of each type to set aside for a loss of <paramref name="lost"/> kits, of which <paramref name="usableLost"/> (per type) were usable. None in an open study.</summary>
    public static IReadOnlyDictionary<string, int> Counts(Studies.StudyConfiguration study, int lost, IReadOnlyDictionary<string, int> usableLost)
    {
        ArgumentNullException.ThrowIfNull(study);
        ArgumentNullException.ThrowIfNull(usableLost);
        ArgumentOutOfRangeException.ThrowIfNegative(lost);
        if (!study.IsBlinded)
        {
            return new Dictionary<string, int>(StringComparer.Ordinal);
        }

        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var type in study.KitTypes)
        {
            var n = lost - usableLost.GetValueOrDefault(type.Code);
            if (n < 0)
            {
                throw new ArgumentException($"More usable kits of '{type.Code}' lost than kits lost.", nameof(usableLost));
            }

            if (n > 0)
            {
                result[type.Code] = n;
            }
        }

        return result;
    }

    /// <summary>
    /// Which of one type's usable kits to set aside: the <paramref name="count"/> whose expiry is nearest
    /// <paramref name="near"/> (the lost kits' median expiry), so the types also pass their dispensing limits alike
    /// while the replacement is on the way; ties keep <paramref name="usable"/>'s order (the shelf index's random
    /// order). Fewer than <paramref name="count"/> when the type has fewer: the site is then short of it, and the
    /// stock-out hold that follows quarantines the shelf.
    /// </summary>
    public static IReadOnlyList<T> Choose<T>(IReadOnlyList<T> usable, Func<T, DateOnly> expiry, int count, DateOnly near)
    {
        ArgumentNullException.ThrowIfNull(usable);
        ArgumentNullException.ThrowIfNull(expiry);
        return [.. usable.Select((kit, i) => (kit, i)).OrderBy(k => Math.Abs(expiry(k.kit).DayNumber - near.DayNumber)).ThenBy(k => k.i).Take(count).Select(k => k.kit)];
    }

    /// <summary>The median expiry of the lost kits (the earlier of the middle two).</summary>
    public static DateOnly Near(IEnumerable<DateOnly> lostExpiries)
    {
        ArgumentNullException.ThrowIfNull(lostExpiries);
        var sorted = lostExpiries.Order().ToList();
        return sorted.Count == 0 ? DateOnly.MinValue : sorted[(sorted.Count - 1) / 2];
    }
}
