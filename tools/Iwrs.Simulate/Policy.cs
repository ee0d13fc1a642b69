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
/// </summary>
internal sealed record Policy(string Name, IResupplyRule Rule, KitChoiceMode Choice, StockCount Count = StockCount.AtArrival, bool CompositionSeesOnTreatment = true)
{
    /// <summary>The rows the simulator prints, the product's rule first (the summary line's figures).</summary>
    public static IReadOnlyList<Policy> Compared(bool seesOnTreatment) =>
    [
        new("blind-safe, random kit", Resupply.BlindSafe, KitChoiceMode.Random, StockCount.AtArrival, seesOnTreatment),
        new("blind-safe, by shipment", Resupply.BlindSafe, KitChoiceMode.ShipmentFirst, StockCount.AtArrival, seesOnTreatment),
        new("blind-safe, FEFO kit", Resupply.BlindSafe, KitChoiceMode.FirstExpiryFirst, StockCount.AtArrival, seesOnTreatment),
        new("per-type, random kit", Resupply.PerType, KitChoiceMode.Random, StockCount.AtArrival, seesOnTreatment),
        new("blind-safe, stock today", Resupply.BlindSafe, KitChoiceMode.Random, StockCount.Today, seesOnTreatment),
        new("in-ratio, random kit", Resupply.InRatio, KitChoiceMode.Random, StockCount.AtArrival, seesOnTreatment),
    ];
}
