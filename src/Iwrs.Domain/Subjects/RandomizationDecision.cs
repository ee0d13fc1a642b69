using Iwrs.Domain.Randomization;
using Iwrs.Domain.Studies;
using Iwrs.Domain.Supply;

namespace Iwrs.Domain.Subjects;

/// <summary>What randomizing (or enrolling) one subject takes: the subject as it will be stored, the slot it uses, its kits.</summary>
public sealed record Assignment(Subject Subject, ListSlot? Slot, IReadOnlyList<string> KitNumbers);

/// <summary>
/// Slot → arm → kit → number, decided from what was read, with no I/O: the slot under the stratum's pointer (null when
/// the list has none left for it), every usable kit of every type at the site (the arm's are chosen from at random,
/// <see cref="KitChoice"/>), and the next number of the study's sequence. <c>publicSlotsPerStratum</c>: the active
/// list's <see cref="RandomizationList.PublicSlotsPerStratum"/> (null for a list stored without it), see <see cref="ListCapacity"/>.
/// </summary>
public static class RandomizationDecision
{
    public static Result<Assignment> Decide(
        StudyConfiguration study, string subjectId, RandomizationRequest request, Stratum? stratum, bool listActive, ListSlot? slot,
        IReadOnlyDictionary<string, IReadOnlyList<string>> usableKits, long nextNumber, DateTimeOffset now, string userId, IRandomSource random,
        int? publicSlotsPerStratum = null)
    {
        ArgumentNullException.ThrowIfNull(study);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(usableKits);
        var site = study.FindSite(request.SiteId ?? string.Empty) ?? throw new ArgumentException("The request's site must be checked first.", nameof(request));
        var arm = study.Arms[0];
        if (study.Allocation == Allocation.Randomized)
        {
            if (!listActive)
            {
                return new DomainError("no-active-list", "No randomization list is active in this study yet.");
            }

            // In a blinded study the stratum ends at the list's public number, never at its block-rounded length.
            if (slot is null || !ListCapacity.Allows(study, slot.Position, publicSlotsPerStratum))
            {
                return new DomainError("list-exhausted", "The randomization list has no slot left for this subject's stratum. Nothing was used; contact the study's unblinded statistician.");
            }

            arm = study.Arms.First(a => a.Code == slot.ArmCode);
        }

        // In a blinded study a refusal must not depend on the arm: if any kit type is short at the site, the whole
        // site goes on supply hold, so a coordinator cannot tell which subjects share an arm.
        var count = study.VisitSchedule.KitsPerVisit;
        if (SupplyHold.IsShort(study, usableKits.ToDictionary(k => k.Key, k => k.Value.Count), arm.KitType))
        {
            return SupplyHold.ShortRefusal(study, site.SiteId);
        }

        var taken = KitChoice.Pick(usableKits[arm.KitType], count, random).ToList();
        var visit = $"{study.VisitSchedule.VisitPrefix}1";
        var subject = new Subject(
            subjectId, site.SiteId, SubjectStatus.Randomized, SubjectRules.FormatNumber(study, nextNumber), stratum?.Key, slot?.Position,
            arm.Code, arm.KitType, now, userId, [.. taken.Select(k => new Dispensation(visit, k, now, userId))],
            Unblinded: false, DiscontinuationReason: null);
        return new Assignment(subject, slot, taken);
    }
}
