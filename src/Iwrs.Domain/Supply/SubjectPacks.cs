using Iwrs.Domain.Studies;

namespace Iwrs.Domain.Supply;

/// <summary>
/// One starter shipment as the rules see it: public counts only. <see cref="Scarcest"/> is the number of kits of its
/// scarcest type as shipped (its composition is public: the allocation ratio); <see cref="Lost"/> counts its kits
/// reported damaged or missing, at receipt or later from the shelf, whatever their type (the type is secret);
/// <see cref="Served"/> the randomizations it has served.
/// </summary>
public sealed record Starter(string Id, DateOnly Expiry, int Scarcest, int Lost, int Served)
{
    /// <summary>
    /// Randomizations it can still serve. Every secret consistent with what the site saw must still leave it a kit of
    /// the next subject's type: the worst is that every kit lost and every randomization served was of its scarcest
    /// type, which leaves <c>Scarcest − Lost − Served × kitsPerVisit</c> kits of it.
    /// </summary>
    public int Capacity(int kitsPerVisit)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(kitsPerVisit);
        return Math.Max(0, ((Scarcest - Lost) / kitsPerVisit) - Served);
    }
}

/// <summary>Kits to order for one subject's pack: how many, the last day they may leave the depot, and the earliest expiry they may have.</summary>
public sealed record PackOrder(int Kits, DateOnly ShipBy, DateOnly Earliest);

/// <summary>
/// The subject-pack design: the alternative to a shared site shelf that leaks nothing of the arms through which
/// shipment a kit came from (README, "Blinding": on a shared shelf a kit may come from a shipment only while the
/// shipment holds every type in every secret, which wastes at least (T − 1)/T of its kits). A site keeps a shelf of
/// starter shipments for randomizations only, each in the allocation ratio, and serves each randomization from its
/// one open starter (<see cref="OpenStarter"/>), at most <see cref="Starter.Capacity"/> times. Every later kit of a
/// subject comes in a pack shipped for that subject alone, <c>packVisits</c> visits' kits at a time
/// (<see cref="PackKitsToOrder"/>). Every rule here reads public counts and dates only; which kits are of which type
/// decides nothing.
/// </summary>
public static class SubjectPacks
{
    /// <summary>
    /// Two ratio blocks (LJ-MCRC: 4 kits, 2 of each type, 2 randomizations): the smallest starter that serves more
    /// than one randomization. A larger one saves shipments but not kits ((T − 1)/T of every starter is never used,
    /// whatever its size) and leaves more at each site when enrolment closes.
    /// </summary>
    public const int DefaultStarterBlocks = 2;

    /// <summary>Randomizations the starters on hand and on the way must cover (studies/README.md, "Subject packs").</summary>
    public const int DefaultStarterTrigger = 8;

    /// <summary>
    /// A starter must stay dispensable this long after it is shipped (the do-not-dispense limit then retires it): its
    /// last use is not known when it is shipped, as a pack's is.
    /// </summary>
    public const int StarterShelfDays = 180;

    /// <summary>
    /// The most kits in one shipment on subject packs: each kit takes two writes and each pack's ledger one, beside the
    /// shipment's rows, its audit record and SMS rows, in one transaction of 100. A starter, and a pack, must fit in one.
    /// </summary>
    public const int MaxShipmentKits = 24;

    /// <summary>The default starter size: <see cref="DefaultStarterBlocks"/> times the sum of the allocation ratios.</summary>
    public static int DefaultStarterSize(StudyConfiguration study)
    {
        ArgumentNullException.ThrowIfNull(study);
        return DefaultStarterBlocks * study.Arms.Sum(a => a.Ratio);
    }

    /// <summary>
    /// Why <paramref name="size"/> cannot be a starter's size for the study (null when it can): it must split into
    /// whole kits in the allocation ratio, with a randomization's kits of every type.
    /// </summary>
    public static string? InvalidStarterSize(StudyConfiguration study, int size)
    {
        ArgumentNullException.ThrowIfNull(study);
        return InvalidStarterSize(study.Arms, study.KitTypes, study.VisitSchedule.KitsPerVisit, size);
    }

    internal static string? InvalidStarterSize(IReadOnlyList<Arm> arms, IReadOnlyList<KitType> kitTypes, int kitsPerVisit, int size)
    {
        var total = arms.Sum(a => a.Ratio);
        if (size < 1 || size % total != 0)
        {
            return FormattableString.Invariant($"a starter's size must be a positive multiple of {total}, the allocation ratios' sum");
        }

        return StarterKits(arms, kitTypes, size).Min() < kitsPerVisit
            ? FormattableString.Invariant($"a starter must hold a randomization's {kitsPerVisit} kit(s) of every type")
            : null;
    }

    /// <summary>Kits of each type, in the study's kit-type order, in a starter of <paramref name="size"/> kits: the size times the type's share of the ratio.</summary>
    public static IReadOnlyList<int> StarterKits(StudyConfiguration study, int size)
    {
        ArgumentNullException.ThrowIfNull(study);
        return StarterKits(study.Arms, study.KitTypes, size);
    }

    private static int[] StarterKits(IReadOnlyList<Arm> arms, IReadOnlyList<KitType> kitTypes, int size)
    {
        var total = arms.Sum(a => a.Ratio);
        return [.. kitTypes.Select(k => size * arms.Where(a => a.KitType == k.Code).Sum(a => a.Ratio) / total)];
    }

    /// <summary>
    /// Randomizations a starter can still serve, from what is left of it on the shelf: <paramref name="remaining"/>
    /// of its <see cref="StarterLabel.Kits"/> (kits lost at receipt never reach the shelf; kits dispensed or lost from
    /// it leave). The same as <see cref="Starter.Capacity"/>: with N kits of which S of its scarcest type, L lost and
    /// V randomizations of k kits served, R = N − L − V·k, so floor((S − L)/k) − V = floor((S − N + R)/k). The shelf
    /// alone tells it, so a randomization reads no starter row.
    /// </summary>
    public static int Capacity(StarterLabel starter, int remaining, int kitsPerVisit)
    {
        ArgumentNullException.ThrowIfNull(starter);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(kitsPerVisit);
        var worst = starter.Scarcest - starter.Kits + remaining;
        return worst <= 0 ? 0 : worst / kitsPerVisit;
    }

    /// <summary>
    /// A starter as the shelf (or an open shipment) shows it: <paramref name="remaining"/> of its kits left, the rest
    /// counted as lost, which gives it the same capacity as its true counts (<see cref="Capacity"/>).
    /// </summary>
    public static Starter FromShelf(StarterLabel starter, DateOnly expiry, int remaining)
    {
        ArgumentNullException.ThrowIfNull(starter);
        return new Starter(starter.Id, expiry, starter.Scarcest, starter.Kits - remaining, 0);
    }

    /// <summary>A new starter's public counts: none lost, none served.</summary>
    public static Starter NewStarter(string id, DateOnly expiry, IReadOnlyList<int> kitsPerType)
    {
        ArgumentNullException.ThrowIfNull(kitsPerType);
        return new Starter(id, expiry, kitsPerType.Min(), 0, 0);
    }

    /// <summary>
    /// The starter that serves the next randomization: the first of <paramref name="shelf"/> (the site's released
    /// starters, oldest release first) with capacity left and still dispensable on <paramref name="usableFrom"/>.
    /// Null: the site has no starter to randomize from, a supply hold.
    /// </summary>
    public static Starter? OpenStarter(IEnumerable<Starter> shelf, DateOnly usableFrom, int kitsPerVisit)
    {
        ArgumentNullException.ThrowIfNull(shelf);
        return shelf.FirstOrDefault(s => s.Capacity(kitsPerVisit) > 0 && s.Expiry >= usableFrom);
    }

    /// <summary>
    /// Randomizations the site's starters can serve for the starter trigger: those on the shelf still dispensable when
    /// a starter ordered now could replace them (<paramref name="countedFrom"/>), those on the way, and those ordered.
    /// </summary>
    public static int CountedCapacity(IEnumerable<Starter> shelf, IEnumerable<Starter> onTheWay, int ordered, int perStarter, DateOnly countedFrom, int kitsPerVisit)
    {
        ArgumentNullException.ThrowIfNull(shelf);
        ArgumentNullException.ThrowIfNull(onTheWay);
        return (ordered * perStarter)
            + shelf.Where(s => s.Expiry >= countedFrom).Sum(s => s.Capacity(kitsPerVisit))
            + onTheWay.Sum(s => s.Capacity(kitsPerVisit));
    }

    /// <summary>
    /// How many starters to order now: enough to bring <paramref name="counted"/> randomizations up to the trigger, or
    /// to the subjects the study still has to randomize when that is fewer. Public counts only.
    /// </summary>
    public static int StartersToOrder(int counted, int trigger, int stillToRandomize, int perStarter)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(perStarter);
        var short_ = Math.Min(trigger, stillToRandomize) - counted;
        return short_ <= 0 ? 0 : (short_ + perStarter - 1) / perStarter;
    }

    /// <summary>The randomizations a new starter of <paramref name="kitsPerType"/> serves.</summary>
    public static int Serves(IReadOnlyList<int> kitsPerType, int kitsPerVisit)
    {
        ArgumentNullException.ThrowIfNull(kitsPerType);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(kitsPerVisit);
        return kitsPerType.Min() / kitsPerVisit;
    }

    /// <summary>
    /// Kits to order for a subject after a visit: when their pack (kits on hand, on the way and ordered:
    /// <paramref name="have"/>) is short of the next visit's kits, the next <paramref name="packVisits"/> visits' kits,
    /// no more than the schedule has left; otherwise none. Public numbers only.
    /// </summary>
    public static int PackKitsToOrder(int visitsDone, int dispensingVisits, int have, int packVisits, int kitsPerVisit)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(packVisits);
        if (visitsDone >= dispensingVisits || have >= kitsPerVisit)
        {
            return 0;
        }

        return (PackVisits(visitsDone, dispensingVisits, packVisits) * kitsPerVisit) - have;
    }

    /// <summary>
    /// What to order for a subject after their visit number <paramref name="visitsDone"/> on <paramref name="visitDay"/>,
    /// with <paramref name="have"/> kits in their pack, on the way and ordered (<see cref="PackKitsToOrder"/>); the next
    /// visit is targeted a cycle after this one. Null: nothing.
    /// </summary>
    public static PackOrder? OrderAfterVisit(int visitsDone, int have, DateOnly visitDay, VisitSchedule schedule, SupplySettings supply, SubjectPackSettings packs)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        ArgumentNullException.ThrowIfNull(packs);
        var kits = PackKitsToOrder(visitsDone, schedule.DispensingVisits, have, packs.PackVisits, schedule.KitsPerVisit);
        if (kits == 0)
        {
            return null;
        }

        var nextTarget = visitDay.AddDays(schedule.CycleLengthDays);
        var visits = PackVisits(visitsDone, schedule.DispensingVisits, packs.PackVisits);
        return new PackOrder(kits, PackShipBy(nextTarget, schedule, supply), PackEarliestExpiry(nextTarget, visits, visitDay, schedule, supply));
    }

    /// <summary>
    /// What to owe a subject whose visit is late: their pack's kits passed the do-not-dispense limit (the timer retires
    /// them) or never came, and <paramref name="have"/> kits are left in it, on the way and ordered. The next
    /// packVisits visits' kits as after a visit (<see cref="PackKitsToOrder"/>), leaving today, and
    /// lasting a window past the day they can be on the shelf: the subject may come any day. Null: nothing.
    /// </summary>
    public static PackOrder? OrderForLateVisit(int visitsDone, int have, DateOnly today, VisitSchedule schedule, SupplySettings supply, SubjectPackSettings packs)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        ArgumentNullException.ThrowIfNull(supply);
        ArgumentNullException.ThrowIfNull(packs);
        var kits = PackKitsToOrder(visitsDone, schedule.DispensingVisits, have, packs.PackVisits, schedule.KitsPerVisit);
        if (kits == 0)
        {
            return null;
        }

        var onShelf = today.AddDays(Math.Max(1, supply.LeadTimeDays) + Dispensability.ArrivalMarginDays);
        var visits = PackVisits(visitsDone, schedule.DispensingVisits, packs.PackVisits);
        return new PackOrder(kits, today, PackEarliestExpiry(onShelf, visits, today, schedule, supply));
    }

    /// <summary>The refusal of a later visit whose pack is not on the site.</summary>
    public const string PackNotOnSite = "pack-not-on-site";

    /// <summary>The visits a pack ordered after <paramref name="visitsDone"/> visits covers.</summary>
    public static int PackVisits(int visitsDone, int dispensingVisits, int packVisits) =>
        Math.Max(0, Math.Min(packVisits, dispensingVisits - visitsDone));

    /// <summary>
    /// The earliest expiry a pack's kits may have: dispensable until the last visit it covers, at the latest that
    /// visit can be. Each visit sets the next one's target a cycle after the day it was done, so every visit of the
    /// pack but the last may move the later ones by up to a window.
    /// </summary>
    public static DateOnly PackEarliestExpiry(DateOnly nextTarget, int visits, DateOnly today, VisitSchedule schedule, SupplySettings supply)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        ArgumentNullException.ThrowIfNull(supply);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(visits);
        var lastUse = nextTarget.AddDays(((visits - 1) * (schedule.CycleLengthDays + schedule.WindowDays)) + schedule.WindowDays);
        return Dispensability.EarliestAllowedExpiry(lastUse > today ? lastUse : today, schedule, supply);
    }

    /// <summary>
    /// Days of slack a pack keeps beyond its lead time, the next daily check and a release wait: a courier this many
    /// days late still brings it before its visit's window opens.
    /// </summary>
    public const int PackShipMarginDays = 3;

    /// <summary>
    /// The last day a pack for a visit targeted on <paramref name="nextTarget"/> may leave the depot: on the shelf
    /// before the visit's window opens, after the lead time, the next daily check and a release wait
    /// (<see cref="Dispensability.ArrivalMarginDays"/>), with <see cref="PackShipMarginDays"/> to spare. A pack waits
    /// for it, so the packs of a site's subjects leave together (<see cref="ShipsToday"/>). Public: visit dates.
    /// </summary>
    public static DateOnly PackShipBy(DateOnly nextTarget, VisitSchedule schedule, SupplySettings supply)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        ArgumentNullException.ThrowIfNull(supply);
        return nextTarget.AddDays(-(schedule.WindowDays + Math.Max(1, supply.LeadTimeDays) + Dispensability.ArrivalMarginDays + PackShipMarginDays));
    }

    /// <summary>
    /// Whether a site's shipment leaves today: when a starter is ordered (they go at once), or when any pack waiting
    /// for the depot has reached its last day (<see cref="PackShipBy"/>). Everything waiting then leaves together.
    /// </summary>
    public static bool ShipsToday(DateOnly today, int startersOrdered, IEnumerable<DateOnly> packsShipBy)
    {
        ArgumentNullException.ThrowIfNull(packsShipBy);
        return startersOrdered > 0 || packsShipBy.Any(d => d <= today);
    }

    /// <summary>The earliest expiry a starter shipped today may have: dispensable for <see cref="StarterShelfDays"/> after it arrives.</summary>
    public static DateOnly StarterEarliestExpiry(DateOnly today, VisitSchedule schedule, SupplySettings supply)
    {
        ArgumentNullException.ThrowIfNull(supply);
        return Dispensability.EarliestAllowedExpiry(today.AddDays(Math.Max(1, supply.LeadTimeDays) + StarterShelfDays), schedule, supply);
    }

    /// <summary>
    /// The depot batch a site's shipment of the day comes from (everything ordered for a site on one day, starters,
    /// packs and replacements, leaves as one shipment): the earliest batch holding <paramref name="total"/> kits of
    /// every one of <paramref name="types"/>, so the batch, and the date printed on a pack, depends on the shipment's
    /// size and the depot only, never on its subjects' types. Null: the depot cannot ship it yet.
    /// </summary>
    public static DepotBatch? ShipmentBatch(int total, IReadOnlyList<string> types, IReadOnlyDictionary<DepotBatch, IReadOnlyDictionary<string, int>> atDepot)
    {
        ArgumentNullException.ThrowIfNull(types);
        ArgumentNullException.ThrowIfNull(atDepot);
        foreach (var batch in DepotBatch.InOrder(atDepot.Keys))
        {
            if (types.All(t => atDepot[batch].GetValueOrDefault(t) >= total))
            {
                return batch;
            }
        }

        return null;
    }
}
