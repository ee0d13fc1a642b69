using System.Globalization;
using Iwrs.Domain.Studies;

namespace Iwrs.Domain.Subjects;

public enum SubjectStatus { Randomized, Discontinued }

/// <summary>One kit handed to a subject at one visit.</summary>
public sealed record Dispensation(string Visit, string KitNumber, DateTimeOffset At, string ByUserId);

/// <summary>
/// A randomized (or, in a single-arm study, enrolled) subject. <see cref="ArmCode"/>, <see cref="KitType"/>,
/// <see cref="StratumKey"/>'s list position and <see cref="ListPosition"/> are unblinded data: only unblinded
/// views show them.
/// </summary>
public sealed record Subject(
    string SubjectId,
    string SiteId,
    SubjectStatus Status,
    string Number,
    string? StratumKey,
    int? ListPosition,
    string ArmCode,
    string KitType,
    DateTimeOffset RandomizedAt,
    string RandomizedBy,
    IReadOnlyList<Dispensation> Dispensations,
    bool Unblinded,
    string? DiscontinuationReason)
{
    public static string StatusName(SubjectStatus s) => s == SubjectStatus.Randomized ? "randomized" : "discontinued";
}

/// <summary>What a caller asks when randomizing or enrolling.</summary>
public sealed record RandomizationRequest(string? SiteId, bool? EligibilityConfirmed, IReadOnlyDictionary<string, string>? StratificationFactors);

/// <summary>The rules around a subject's life in the study: who may be randomized, what may be dispensed when.</summary>
public static class SubjectRules
{
    /// <summary>
    /// Checks that need nothing but the study and the subject as stored. Null means "go ahead"; a subject means
    /// "already done, answer with this" (a retried request gets the first result, never a second allocation).
    /// </summary>
    public static Result<Subject?> CheckRandomization(StudyConfiguration study, string subjectId, RandomizationRequest request, Subject? existing)
    {
        if (!Identifiers.IsValid(subjectId))
        {
            return DomainError.Validation([new FieldError("subjectId", $"must be {Identifiers.Rule}.")]);
        }

        if (request.SiteId is null)
        {
            return DomainError.Validation([new FieldError("siteId", "is required.")]);
        }

        if (existing is not null)
        {
            return existing.SiteId == request.SiteId
                ? existing
                : new DomainError("subject-already-randomized-elsewhere", $"Subject '{subjectId}' is already randomized at another site.");
        }

        if (study.Status != StudyStatus.Open)
        {
            return new DomainError("study-not-open", $"Study '{study.StudyId}' is not open for {(study.Allocation == Allocation.Randomized ? "randomization" : "enrolment")}.");
        }

        var site = study.FindSite(request.SiteId);
        if (site is null)
        {
            return new DomainError("site-not-found", $"Study '{study.StudyId}' has no site '{request.SiteId}'.");
        }

        if (!site.Active)
        {
            return new DomainError("site-not-active", $"Site '{site.SiteId}' is not active in study '{study.StudyId}'.");
        }

        if (request.EligibilityConfirmed != true)
        {
            return new DomainError("eligibility-not-confirmed", "Confirm that the subject meets every inclusion and no exclusion criterion (eligibilityConfirmed: true).");
        }

        return Result<Subject?>.Ok(null);
    }

    /// <summary>The visit number of a visit code (C3 → 3), or an error when the schedule has no such visit.</summary>
    public static Result<int> VisitNumber(VisitSchedule schedule, string visit)
    {
        if (visit.StartsWith(schedule.VisitPrefix, StringComparison.Ordinal) &&
            int.TryParse(visit.AsSpan(schedule.VisitPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var n) &&
            n >= 1 && n <= schedule.DispensingVisits && visit == schedule.VisitPrefix + n.ToString(CultureInfo.InvariantCulture))
        {
            return n;
        }

        return new DomainError("unknown-visit", $"'{visit}' is not a dispensing visit of this study ({schedule.VisitPrefix}1 to {schedule.VisitPrefix}{schedule.DispensingVisits}).");
    }

    /// <summary>
    /// Whether <paramref name="visit"/> may be dispensed now. Null means go ahead; a dispensation means it was
    /// already done (idempotent per subject and visit). Visits go forward only: a missed visit may be skipped,
    /// an earlier one cannot be dispensed after a later one.
    /// </summary>
    public static Result<Dispensation?> CheckDispense(StudyConfiguration study, Subject subject, string visit, string siteId)
    {
        var number = VisitNumber(study.VisitSchedule, visit);
        if (!number.IsSuccess)
        {
            return number.Error!;
        }

        if (subject.SiteId != siteId)
        {
            return new DomainError("not-authorized-for-site", $"Subject '{subject.SubjectId}' is not at site '{siteId}'.");
        }

        var done = subject.Dispensations.FirstOrDefault(d => d.Visit == visit);
        if (done is not null)
        {
            return done;
        }

        if (subject.Status == SubjectStatus.Discontinued)
        {
            return new DomainError("subject-discontinued", $"Subject '{subject.SubjectId}' has discontinued; nothing more is dispensed.");
        }

        if (number.Value == 1)
        {
            return new DomainError("visit-dispensed-at-randomization", $"{visit} is dispensed at randomization.");
        }

        var last = VisitsDone(study.VisitSchedule, subject);
        if (number.Value <= last)
        {
            return new DomainError("visit-out-of-order", $"{visit} comes before the last dispensed visit {study.VisitSchedule.VisitPrefix}{last}.");
        }

        return Result<Dispensation?>.Ok(null);
    }

    /// <summary>The number of the subject's last dispensed visit (0: none).</summary>
    public static int VisitsDone(VisitSchedule schedule, Subject subject)
    {
        ArgumentNullException.ThrowIfNull(subject);
        return subject.Dispensations.Select(d => VisitNumber(schedule, d.Visit)).Where(r => r.IsSuccess).Select(r => r.Value).DefaultIfEmpty(0).Max();
    }

    /// <summary>A number a person can read out on the phone: prefix and a zero-padded sequence.</summary>
    public static string FormatNumber(StudyConfiguration study, long sequence) =>
        (study.Allocation == Allocation.Randomized ? "R" : "E") + sequence.ToString("D4", CultureInfo.InvariantCulture);
}
