using Iwrs.Domain.Subjects;

namespace Iwrs.Functions.Features;

/// <summary>How a subject is shown: to blinded callers without arm, kit type, stratum or list position.</summary>
public static class SubjectViews
{
    public sealed record DispensationView(string Visit, string KitNumber, DateTimeOffset At);

    /// <summary>What a blinded caller may know of a subject: numbers, kits and dates, never arm or kit type.</summary>
    public sealed record SubjectView(
        string SubjectId, string SiteId, string Status, string Number, DateTimeOffset RandomizedAt, IReadOnlyList<DispensationView> Dispensations,
        bool Unblinded, string? DiscontinuationReason, string? Arm, string? KitType, string? Stratum, int? ListPosition);

    public static SubjectView View(Subject s, bool unblinded) => new(
        s.SubjectId, s.SiteId, Subject.StatusName(s.Status), s.Number, s.RandomizedAt,
        s.Dispensations.Select(d => new DispensationView(d.Visit, d.KitNumber, d.At)).ToList(),
        s.Unblinded, s.DiscontinuationReason,
        unblinded ? s.ArmCode : null, unblinded ? s.KitType : null, unblinded ? s.StratumKey : null, unblinded ? s.ListPosition : null);
}
