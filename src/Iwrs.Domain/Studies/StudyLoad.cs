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
}
