using System.Globalization;

namespace Iwrs.Domain.Supply;

/// <summary>Where a kit is in its life: made at the depot, shipped, received at a site, handed to a subject.</summary>
/// <remarks>
/// <see cref="Quarantined"/>: on a blinded site's shelf when a stock-out hold started there; never dispensed (see <see cref="SupplyHold"/>).
/// <see cref="SetAside"/>: on a blinded site's shelf, held back after a loss until its replacement is released (see <see cref="Supply.SetAside"/>).
/// <see cref="Retired"/>: on subject packs, left in a starter that can serve no more, or in the pack of a subject who
/// stopped; never dispensed, for the depot to take back.
/// </remarks>
public enum KitStatus { AtDepot, InTransit, Available, Dispensed, Damaged, Missing, Quarantined, SetAside, Retired }

/// <summary>
/// The starter a kit was shipped in, in a study on subject packs (<see cref="SubjectPacks"/>): its id, its number of
/// kits and its scarcest type's kits as shipped (its composition is the allocation ratio, public). What a starter can
/// still serve follows from these and the kits of it left on the shelf (<see cref="SubjectPacks.Capacity"/>).
/// </summary>
public sealed record StarterLabel(string Id, int Kits, int Scarcest);

/// <summary>
/// One numbered bottle. <see cref="Starter"/> or <see cref="PackFor"/> (the subject whose pack it was shipped in),
/// on subject packs: both printed on it, public. The kit number is random and says nothing about its type or its place in any list;
/// the type is unblinded data.
/// </summary>
public sealed record Kit(
    string KitNumber,
    string KitType,
    string Lot,
    DateOnly Expiry,
    KitStatus Status,
    string Location,
    string? ShipmentId,
    string? SubjectId,
    string? Visit,
    StarterLabel? Starter = null,
    string? PackFor = null)
{
    /// <summary>Kits at the depot have this location; at a site, the site id.</summary>
    public const string Depot = "depot";

    public static string Name(KitStatus status) => status switch
    {
        KitStatus.AtDepot => "at-depot",
        KitStatus.InTransit => "in-transit",
        KitStatus.Available => "available",
        KitStatus.Dispensed => "dispensed",
        KitStatus.Damaged => "damaged",
        KitStatus.Quarantined => "quarantined",
        KitStatus.SetAside => "set-aside",
        KitStatus.Retired => "retired",
        _ => "missing",
    };

    public static KitStatus Parse(string? name) => name switch
    {
        "at-depot" => KitStatus.AtDepot,
        "in-transit" => KitStatus.InTransit,
        "available" => KitStatus.Available,
        "dispensed" => KitStatus.Dispensed,
        "damaged" => KitStatus.Damaged,
        "missing" => KitStatus.Missing,
        "quarantined" => KitStatus.Quarantined,
        "set-aside" => KitStatus.SetAside,
        "retired" => KitStatus.Retired,
        _ => throw new FormatException($"Unknown kit status '{name}'."),
    };

    /// <summary>Expiry as it sorts in a row key: yyyyMMdd.</summary>
    public static string SortableExpiry(DateOnly expiry) => expiry.ToString("yyyyMMdd", CultureInfo.InvariantCulture);
}

/// <summary>
/// Which kits may still be handed out. A kit must last until the subject's next dispensing visit (one cycle
/// plus the visit window) plus the study's do-not-dispense days; the earliest-expiring kit that does is used
/// first (FEFO), so stock does not age out on the shelf.
/// </summary>
public static class Dispensability
{
    public static DateOnly EarliestAllowedExpiry(DateOnly today, Studies.VisitSchedule schedule, Studies.SupplySettings supply) =>
        today.AddDays(checked(schedule.CycleLengthDays + schedule.WindowDays + supply.DoNotDispenseDays));

    /// <summary>
    /// For shipping: a kit sent to a site must still be dispensable on arrival (lead time later), or it would
    /// arrive already unusable.
    /// </summary>
    public static DateOnly EarliestShippableExpiry(DateOnly today, Studies.VisitSchedule schedule, Studies.SupplySettings supply) =>
        EarliestAllowedExpiry(today.AddDays(supply.LeadTimeDays), schedule, supply);

    /// <summary>The next daily check (1 day) and a release wait (2 days): how much further than the lead times the resupply check looks.</summary>
    public const int ArrivalMarginDays = 3;

    /// <summary>
    /// For the resupply check: a kit counts as stock only if it will still be dispensable when a shipment ordered now
    /// could replace it, and the depot ships only such kits. "Could replace it" allows for a kit lost at receipt: in a
    /// blinded study that shipment's kits then wait, set aside, for the replacement ordered at receipt (a second lead
    /// time), so the check looks two lead times, the next check and a release wait ahead. Counting kits usable today
    /// held sites whenever a lot passed its limit with the replacement still on the road (the supply simulator: 8.1% of
    /// L. johnsonii trials at the chosen levels); looking one lead time ahead still held 0.9% of them, each when the
    /// shipment that was to replace an expiring lot lost a kit at receipt. Public: counts and dates only.
    /// </summary>
    public static DateOnly EarliestCountedExpiry(DateOnly today, Studies.VisitSchedule schedule, Studies.SupplySettings supply) =>
        EarliestAllowedExpiry(today.AddDays((2 * Math.Max(1, supply.LeadTimeDays)) + ArrivalMarginDays), schedule, supply);
}
