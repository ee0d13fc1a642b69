namespace Iwrs.Domain.Studies;

public enum StudyLoadOutcome { Created, Updated, Unchanged }

/// <summary>
/// Whether loading a configuration creates, updates or leaves a study alone. Versions only rise: the same file
/// loaded twice is no change, a different file must carry a higher version, so two people editing the same
/// version cannot silently overwrite each other.
/// </summary>
public static class StudyLoad
{
    public static Result<StudyLoadOutcome> Decide(int? currentVersion, string? currentHash, StudyConfiguration incoming, string incomingHash)
    {
        if (currentVersion is null)
        {
            return StudyLoadOutcome.Created;
        }

        if (currentHash == incomingHash)
        {
            return StudyLoadOutcome.Unchanged;
        }

        if (incoming.Version <= currentVersion)
        {
            return new DomainError(
                "study-version-conflict",
                $"Version {currentVersion} of study '{incoming.StudyId}' is loaded with different content; a changed configuration needs a version above {currentVersion}.");
        }

        return StudyLoadOutcome.Updated;
    }

    /// <summary>
    /// Sites, arms and kit types are never removed once loaded (subjects, kits and stored rows refer to them);
    /// a site that closes is made inactive instead.
    /// </summary>
    public static DomainError? CheckNothingRemoved(StudyConfiguration current, StudyConfiguration incoming)
    {
        var gone = current.Sites.Where(s => incoming.FindSite(s.SiteId) is null).Select(s => $"site {s.SiteId}")
            .Concat(current.Arms.Where(a => incoming.Arms.All(x => x.Code != a.Code)).Select(a => $"arm {a.Code}"))
            .Concat(current.KitTypes.Where(k => incoming.KitTypes.All(x => x.Code != k.Code)).Select(k => $"kit type {k.Code}"))
            .ToList();
        return gone.Count == 0
            ? null
            : new DomainError("study-element-removed", $"A loaded study keeps its sites, arms and kit types (deactivate a site instead); missing: {string.Join(", ", gone)}.");
    }

    /// <summary>
    /// Once a randomization list is active, what it was built from — design, arms, kit types, strata, block
    /// sizes, and whether kits go on a shared shelf or in subject packs — cannot change: the list's slots and every
    /// allocation made from it would stop meaning what they meant, and the kits on a site would stop fitting its rules.
    /// Sites, schedule, supply settings, status and texts may still change.
    /// </summary>
    public static DomainError? CheckDesignUnchanged(StudyConfiguration current, StudyConfiguration incoming)
    {
        static string Design(StudyConfiguration c) => string.Join("|",
            c.Allocation, c.Blinding,
            string.Join(";", c.Arms.Select(a => $"{a.Code},{a.Ratio},{a.KitType}")),
            string.Join(";", c.KitTypes.Select(k => k.Code)),
            c.Randomization is null ? "-" : $"{string.Join(",", c.Randomization.BlockSizes)}/{c.Randomization.StratifyBySite}/" +
                string.Join(";", c.Randomization.StratificationFactors.Select(f => $"{f.Code}={string.Join(",", f.Levels)}")),
            c.SubjectPacks is null ? "shelf" : "subject-packs");

        var sitesRemoved = current.Randomization?.StratifyBySite == true && current.Sites.Any(s => incoming.FindSite(s.SiteId) is null);
        return Design(current) == Design(incoming) && !sitesRemoved
            ? null
            : new DomainError("randomization-design-locked", "A randomization list is active: design, arms, kit types, stratification, block sizes and the supply design (a shared shelf or subject packs) can no longer change.");
    }
}
