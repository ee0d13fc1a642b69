using Iwrs.Domain.Studies;
using Iwrs.Domain.Supply;

namespace Iwrs.Simulate;

/// <summary>How a subject's kit is chosen among the arm's usable kits at the site.</summary>
internal enum KitChoiceMode
{
    /// <summary>The product's rule: uniformly at random (<see cref="KitChoice.Pick{T}"/>), so a kit's shipment says nothing about other kits' types.</summary>
    Random,

    /// <summary>
    /// The shipment first, in proportion to its usable kits of all types, then a kit of the arm's type in it
    /// (<see cref="KitChoice.ShipmentFirst{T}"/>): the alternative compared.
    /// </summary>
    ShipmentFirst,

    /// <summary>First expiry first out: the comparison that shows what random choice costs in expired kits.</summary>
    FirstExpiryFirst,
}

/// <summary>Which kits the resupply check counts as a site's stock.</summary>
internal enum StockCount
{
    /// <summary>
    /// Kits still dispensable the day after a shipment ordered now would be on the shelf (lead time + 1 day, the next
    /// daily check); the depot ships only kits that count on arrival. Kits about to pass their do-not-dispense limit
    /// are replaced before they drop, not after. The simulator's default, and a change the product needs (see
    /// studies/README.md, "Supply levels").
    /// </summary>
    AtArrival,

    /// <summary>Kits dispensable today, as the product's resupply check counts them now; the depot ships kits dispensable on arrival.</summary>
    Today,
}

/// <summary>
/// One way of running supply: the resupply rule, the kit choice, which kits count as stock, and whether the
/// composition sees each type's subjects on treatment (the domain's <see cref="StockLevel.OnTreatment"/>; without it
/// every type's demand is its allocation share only).
/// A policy with <see cref="Packs"/> is not a shared shelf at all: it runs the subject-pack design (<see cref="PackRun"/>),
/// and its rule and kit choice are not used.
/// </summary>
internal sealed record Policy(
    string Name, IResupplyRule Rule, KitChoiceMode Choice, StockCount Count = StockCount.AtArrival, bool CompositionSeesOnTreatment = true, PackDesign? Packs = null)
{
    /// <summary>
    /// The rows the simulator prints, the product's rule first (the summary line's figures), then the subject-pack
    /// design for packs of 1, 2 and 3 visits with the given starter (simulated only: not the product's).
    /// </summary>
    public static IReadOnlyList<Policy> Compared(bool seesOnTreatment, int? starterSize = null, int? starterTrigger = null) =>
    [
        new("blind-safe, random kit", Resupply.BlindSafe, KitChoiceMode.Random, StockCount.AtArrival, seesOnTreatment),
        new("blind-safe, by shipment", Resupply.BlindSafe, KitChoiceMode.ShipmentFirst, StockCount.AtArrival, seesOnTreatment),
        new("blind-safe, FEFO kit", Resupply.BlindSafe, KitChoiceMode.FirstExpiryFirst, StockCount.AtArrival, seesOnTreatment),
        new("per-type, random kit", Resupply.PerType, KitChoiceMode.Random, StockCount.AtArrival, seesOnTreatment),
        new("blind-safe, stock today", Resupply.BlindSafe, KitChoiceMode.Random, StockCount.Today, seesOnTreatment),
        new("in-ratio, random kit", Resupply.InRatio, KitChoiceMode.Random, StockCount.AtArrival, seesOnTreatment),
        .. PackVisits.Select(p => ForPacks(new PackDesign(p, starterSize, starterTrigger))),
        ForPacks(new PackDesign(1, starterSize, starterTrigger, AtOnce: true)),
    ];

    /// <summary>The pack sizes compared, in visits' kits: a pack per visit ships most often, larger ones waste more when a subject stops.</summary>
    private static readonly int[] PackVisits = [1, 2, 3];

    /// <summary>The subject-pack design's row.</summary>
    public static Policy ForPacks(PackDesign design)
    {
        ArgumentNullException.ThrowIfNull(design);
        return new(FormattableString.Invariant($"subject packs (P={design.Visits}{(design.AtOnce ? ", at once" : string.Empty)})"), Resupply.BlindSafe, KitChoiceMode.Random, Packs: design);
    }
}

/// <summary>
/// The subject-pack design, the alternative to a shared shelf that leaks nothing of the arms through which shipment a
/// kit came from. A site keeps a shelf of starter shipments for randomizations only: each holds
/// <see cref="StarterSize"/> kits in the allocation ratio (its composition public) and serves at most as many
/// randomizations as it holds kits of its scarcest type, less one for every kit reported damaged at receipt whatever
/// its type (the type is secret): in every secret consistent with what the site sees, the shipment then still holds a
/// kit of the next subject's type, so which shipment a randomization's kit comes from depends on public counts only.
/// Every later kit of a subject comes in a pack shipped for that subject alone, <see cref="Visits"/> visits at a
/// time, ordered after a visit that leaves the subject's pack short of the next one. The price: the kits a starter
/// cannot serve ((T − 1)/T of them with T types in equal shares) and the kits left in a pack when its subject stops.
/// </summary>
/// <param name="Visits">Visits' kits per pack (P).</param>
/// <param name="StarterSize">Kits per starter shipment (S); null: <see cref="SubjectPacks.DefaultStarterSize"/>.</param>
/// <param name="StarterTrigger">A new starter is ordered when the randomizations the site's starters can serve (on the shelf and on the way) fall below this; null: <see cref="SubjectPacks.DefaultStarterTrigger"/>.</param>
/// <param name="AtOnce">Each pack leaves the depot the day it is ordered, instead of waiting for its last day (<see cref="SubjectPacks.PackShipBy"/>) so that a site's packs travel together: the comparison row.</param>
internal sealed record PackDesign(int Visits, int? StarterSize = null, int? StarterTrigger = null, bool AtOnce = false)
{
    /// <summary>Kits of each type (in the study's kit-type order) in one starter: S × the type's share of the ratio.</summary>
    public IReadOnlyList<int> StarterKits(StudyConfiguration study) =>
        SubjectPacks.StarterKits(study, StarterSize ?? SubjectPacks.DefaultStarterSize(study));

    public int Trigger => StarterTrigger ?? SubjectPacks.DefaultStarterTrigger;

    /// <summary>Why <paramref name="starterSize"/> cannot be a starter's size for the study (null when it can): it must split into whole kits in the ratio.</summary>
    public static string? Invalid(StudyConfiguration study, int? starterSize) =>
        starterSize is { } size && SubjectPacks.InvalidStarterSize(study, size) is { } why
            ? FormattableString.Invariant($"--starter-size: {why} for {study.StudyId}")
            : null;
}
