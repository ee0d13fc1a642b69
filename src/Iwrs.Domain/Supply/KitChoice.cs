namespace Iwrs.Domain.Supply;

/// <summary>A uniform random source; the product's draws from a cryptographically sound generator, tests' from a seed.</summary>
public interface IRandomSource
{
    /// <summary>A uniform draw from 0 to <paramref name="maxExclusive"/> − 1.</summary>
    int Next(int maxExclusive);
}

/// <summary>
/// Which of the arm's usable kits a subject gets: chosen at random among all of them, after the do-not-dispense filter.
/// First-expiry-first across shipments would let one unblinding type a whole shelf — a kit from shipment 2 while
/// shipment 1 still has kits says those kits are the other type. A uniform choice makes the chosen kit's shipment
/// carry nothing about the other kits' types when the types are spread over the kit numbers at random (the relabeling
/// test's secret); what it costs in expired kits is measured by the supply simulator. Where shipments lean to a type
/// (the rebalancing composition) it does not hide that lean: see <see cref="ShipmentFirst"/>, the alternative compared.
/// </summary>
public static class KitChoice
{
    public static IReadOnlyList<T> Pick<T>(IReadOnlyList<T> usable, int count, IRandomSource random)
    {
        ArgumentNullException.ThrowIfNull(usable);
        ArgumentNullException.ThrowIfNull(random);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, usable.Count);
        var pool = usable.ToArray();
        for (var i = 0; i < count; i++)
        {
            var j = i + random.Next(pool.Length - i);
            (pool[i], pool[j]) = (pool[j], pool[i]);
        }

        return pool[..count];
    }

    /// <summary>
    /// The alternative the supply simulator and KitChoiceTests compare, not the product's rule: the shipment first,
    /// each shipment that holds a usable kit of <paramref name="kitType"/> with probability proportional to its usable
    /// kits of all types (a count blinded staff have), then a kit of the type within it at random; one kit at a time.
    /// <paramref name="usable"/> holds every type's usable kits at the site. While every shipment holds every type, the
    /// kit's shipment then has one distribution whatever the arm and whatever the shipments lean to, which the uniform
    /// choice lacks on a rebalanced shelf. It is not the product's rule because it fails where the uniform one holds:
    /// when the types are spread over the kit numbers at random, a kit from shipment 1 says shipment 1's other kits are
    /// less likely the arm's type (KitChoiceTests), and on simulated shelves a shipment lacks some type at most
    /// dispensings (the simulator's restricted draws).
    /// </summary>
    public static IReadOnlyList<T> ShipmentFirst<T>(IReadOnlyDictionary<string, IReadOnlyList<T>> usable, string kitType, Func<T, string> shipmentOf, int count, IRandomSource random)
    {
        ArgumentNullException.ThrowIfNull(usable);
        ArgumentNullException.ThrowIfNull(shipmentOf);
        ArgumentNullException.ThrowIfNull(random);
        var ofType = usable.TryGetValue(kitType, out var kits) ? kits.ToList() : [];
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, ofType.Count);
        var onShelf = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var kit in usable.Values.SelectMany(k => k))
        {
            var shipment = shipmentOf(kit);
            onShelf[shipment] = onShelf.GetValueOrDefault(shipment) + 1;
        }

        var taken = new List<T>(count);
        var shipments = new List<string>();
        var within = new List<int>();
        for (var i = 0; i < count; i++)
        {
            // The shipments holding a kit of the type, in the order their kits come; each weighs its kits of all types.
            shipments.Clear();
            var total = 0;
            foreach (var kit in ofType)
            {
                var shipment = shipmentOf(kit);
                if (!shipments.Contains(shipment, StringComparer.Ordinal))
                {
                    shipments.Add(shipment);
                    total += onShelf[shipment];
                }
            }

            var draw = random.Next(total);
            var drawn = shipments[0];
            foreach (var shipment in shipments)
            {
                drawn = shipment;
                if ((draw -= onShelf[shipment]) < 0)
                {
                    break;
                }
            }

            within.Clear();
            for (var k = 0; k < ofType.Count; k++)
            {
                if (string.Equals(shipmentOf(ofType[k]), drawn, StringComparison.Ordinal))
                {
                    within.Add(k);
                }
            }

            var index = within[random.Next(within.Count)];
            taken.Add(ofType[index]);
            ofType.RemoveAt(index);
            onShelf[drawn]--;
        }

        return taken;
    }
}

/// <summary>
/// A site on supply hold: the one acknowledged exception to the blind. When any kit type is short for one visit in a
/// blinded study, every randomization and dispensing at the site is refused, whatever the arm, until a shipment is
/// released there; the hold triggers an urgent resupply and is audited and notified to the depot.
/// </summary>
public static class SupplyHold
{
    public const string Code = "supply-hold";

    /// <summary>
    /// Kits quarantined with the hold's start in one transaction (2 operations each, beside the hold, its audit record
    /// and the depot's SMS rows); a larger shelf is quarantined by the transactions that follow, while the hold stands.
    /// </summary>
    public const int QuarantinePerTransaction = 40;

    /// <summary>
    /// Whether a stock-out hold starting now quarantines the site's shelf: in a blinded study, yes. When a type is
    /// short, the kits left on the shelf are of the other types, so any of them dispensed after the hold would tell its
    /// subject's arm (attacker review H3); taken off the shelf with the hold, they never are. Their number is public
    /// (the shelf count), their types are not shown. Stock-out holds are what the levels are chosen to avoid, so this
    /// costs kits only when the levels fail. On subject packs, no: a hold there means no starter can serve, and the
    /// kits left in starters are never dispensed anyway.
    /// </summary>
    public static bool Quarantines(Studies.StudyConfiguration study)
    {
        ArgumentNullException.ThrowIfNull(study);
        return study.IsBlinded && study.SubjectPacks is null;
    }

    /// <summary>Whether the site's usable kits (per type) leave a subject of <paramref name="kitType"/> without a visit's kits, or, blinded, any subject.</summary>
    public static bool IsShort(Studies.StudyConfiguration study, IReadOnlyDictionary<string, int> usableByType, string kitType)
    {
        ArgumentNullException.ThrowIfNull(study);
        ArgumentNullException.ThrowIfNull(usableByType);
        var count = study.VisitSchedule.KitsPerVisit;
        IEnumerable<string> considered = study.IsBlinded ? study.KitTypes.Select(k => k.Code) : [kitType];
        return considered.Any(type => usableByType.GetValueOrDefault(type) < count);
    }

    /// <summary>The refusal when <see cref="IsShort"/>: the hold in a blinded study, the arm's kit type missing otherwise.</summary>
    public static DomainError ShortRefusal(Studies.StudyConfiguration study, string siteId) => study.IsBlinded
        ? Refusal(siteId, study.SubjectPacks is not null)
        : new DomainError("no-kit-available", $"Site '{siteId}' has no usable kit for this subject. Nothing was used; the depot has been asked to resupply when the next check runs.");

    public static DomainError Refusal(string siteId, bool subjectPacks = false) => new(
        Code,
        subjectPacks
            ? $"Site '{siteId}' is on a supply hold: no starter there can serve a randomization until new starters are received (later visits go on from subjects' packs). Nothing was used; the depot has been notified and starters ordered."
            : $"Site '{siteId}' is on a supply hold: nothing can be randomized or dispensed there until the next shipment is received. Nothing was used; the depot has been notified and an urgent shipment ordered.");
}
