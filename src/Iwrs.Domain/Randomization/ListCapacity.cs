using Iwrs.Domain.Studies;

namespace Iwrs.Domain.Randomization;

/// <summary>
/// How many slots of a stratum may be used. A stratum holds whole blocks, so its length is the public number asked for
/// (<see cref="RandomizationList.PublicSlotsPerStratum"/>) rounded up by secret random block sizes; where it ran out
/// would tell a blinded coordinator the block sizes and where the last block began (attacker review). So in a blinded
/// study a stratum is exhausted at the public number; the slots past it stay in the list (its blocks and commitment
/// unchanged) and are never used. An open-label study uses the whole list, as does a list stored without the number
/// (activated before it was kept).
/// </summary>
public static class ListCapacity
{
    /// <summary>The slots of a stratum of <paramref name="slotsInStratum"/> that may be used.</summary>
    public static int UsableSlots(StudyConfiguration study, int slotsInStratum, int? publicSlotsPerStratum) =>
        Math.Min(slotsInStratum, Limit(study, publicSlotsPerStratum));

    /// <summary>Whether the slot at <paramref name="position"/> may be used.</summary>
    public static bool Allows(StudyConfiguration study, int position, int? publicSlotsPerStratum) =>
        position <= Limit(study, publicSlotsPerStratum);

    /// <summary>The last position a stratum may use, whatever its length: the public number in a blinded study that stored one.</summary>
    private static int Limit(StudyConfiguration study, int? publicSlotsPerStratum)
    {
        ArgumentNullException.ThrowIfNull(study);
        return study.IsBlinded && publicSlotsPerStratum is { } n ? n : int.MaxValue;
    }
}
