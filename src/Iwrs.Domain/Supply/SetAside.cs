namespace Iwrs.Domain.Supply;

/// <summary>
/// What a loss does in a blinded study, so that which kits were lost never shows in what the site can dispense.
/// <list type="bullet">
/// <item>A shipment released with kits reported damaged or missing at receipt: all its ok kits are set aside, on the
/// shelf but never dispensed, until its replacement (the lost kits' types plus one kit of every type) is released; then
/// they reach the shelf together, ship + 1 kits of every type, whichever were lost. Meanwhile the site works on the shelf
/// it had, which the loss did not touch: no hold, and nothing the site sees depends on the lost kits' types. (Setting
/// aside only L − lost kits of each type would have left every type L lower, but whether that left a type short, and
/// so started a hold, would have told the site how many kits its scarcest type had: attacker review.)</item>
/// <item>A kit lost from the shelf after release changes what is dispensable at once, so the site goes on hold until
/// that loss's replacement is released, as before: the hold starts with every such report, whatever the kit.</item>
/// <item>A set-aside kit reported lost from the shelf: a usable kit of its type stands in for it (<see cref="StandIn{T}"/>),
/// so its shipment still reaches the shelf whole with its replacement; the report holds the site like any other.</item>
/// </list>
/// </summary>
public static class SetAside
{
    /// <summary>Whether releasing a shipment that lost <paramref name="lost"/> kits sets its ok kits aside until its replacement is released.</summary>
    public static bool AtRelease(Studies.StudyConfiguration study, int lost)
    {
        ArgumentNullException.ThrowIfNull(study);
        return study.IsBlinded && lost > 0;
    }

    /// <summary>Whether a kit lost from the shelf after release holds the site until its replacement is released.</summary>
    public static bool HoldsOnShelfLoss(Studies.StudyConfiguration study)
    {
        ArgumentNullException.ThrowIfNull(study);
        return study.IsBlinded;
    }

    /// <summary>
    /// The kit that takes a lost set-aside kit's place: of <paramref name="usable"/> (the usable kits of its type on
    /// the shelf), the one whose expiry is nearest <paramref name="expiry"/>, the first in list order (the shelf index's
    /// random order) among equals; none when the type has none on the shelf.
    /// </summary>
    public static T? StandIn<T>(IReadOnlyList<T> usable, Func<T, DateOnly> expiryOf, DateOnly expiry)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(usable);
        ArgumentNullException.ThrowIfNull(expiryOf);
        return usable.Select((kit, i) => (kit, i)).OrderBy(k => Math.Abs(expiryOf(k.kit).DayNumber - expiry.DayNumber)).ThenBy(k => k.i).Select(k => k.kit).FirstOrDefault();
    }
}
