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
/// <item>A set-aside kit reported lost from the shelf holds the site like any other report, and its replacement's kits
/// wait with the other set-aside kits, so everything reaches the shelf level. (A kit of its type standing in from the
/// shelf was possible or not by the shelf's per-type stock, which the outcome then told: attacker review.)</item>
/// </list>
/// </summary>
public static class SetAside
{
    /// <summary>Whether releasing a shipment that lost <paramref name="lost"/> kits sets its ok kits aside until its replacement is released.</summary>
    public static bool AtRelease(Studies.StudyConfiguration study, int lost)
    {
        ArgumentNullException.ThrowIfNull(study);
        return study.IsBlinded && study.SubjectPacks is null && lost > 0;
    }

    /// <summary>
    /// Whether a kit lost at a site, at receipt or from the shelf, is recorded as a loss to replace (a replacement
    /// shipment, set-aside kits, a hold). On subject packs it is not: a starter's capacity counts its lost kits whatever
    /// their type (<see cref="SubjectPacks.Capacity"/>), so nothing the site sees depends on which kit it was.
    /// </summary>
    public static bool Replaces(Studies.StudyConfiguration study)
    {
        ArgumentNullException.ThrowIfNull(study);
        return study.SubjectPacks is null;
    }

    /// <summary>Whether a kit lost from the shelf after release holds the site until its replacement is released.</summary>
    public static bool HoldsOnShelfLoss(Studies.StudyConfiguration study)
    {
        ArgumentNullException.ThrowIfNull(study);
        return study.IsBlinded && study.SubjectPacks is null;
    }
}
