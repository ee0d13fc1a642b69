using Iwrs.Domain.Studies;
using Iwrs.Domain.Subjects;
using Iwrs.Domain.Tests.Studies;

namespace Iwrs.Domain.Tests.Subjects;

/// <summary>Seed studies and subject builders the subject-rule tests share.</summary>
internal static class SubjectStudies
{
    public static StudyConfiguration Lj { get; } = StudyFiles.Valid(StudyFiles.Lj);

    public static StudyConfiguration Akk { get; } = StudyFiles.Valid(StudyFiles.Akk);

    public static DateTimeOffset At { get; } = new(2026, 3, 2, 9, 15, 0, TimeSpan.Zero);

    public static Dispensation Dispensed(string visit, string kitNumber) => new(visit, kitNumber, At, "coordinator-1");

    public static Subject Randomized(string siteId = "CN01", params Dispensation[] dispensations) => new(
        "SUBJ-001", siteId, SubjectStatus.Randomized, "R0001", "ecog=0|liver-mets=yes", 3, "LJ", "LJ-CAPS",
        At, "coordinator-1", dispensations, false, null);

    public static Subject Discontinued(string siteId = "CN01", params Dispensation[] dispensations) =>
        Randomized(siteId, dispensations) with { Status = SubjectStatus.Discontinued, DiscontinuationReason = "withdrew consent" };

    public static RandomizationRequest Request(string? siteId = "CN01", bool? eligible = true) =>
        new(siteId, eligible, new Dictionary<string, string> { ["ecog"] = "0", ["liver-mets"] = "yes" });
}
