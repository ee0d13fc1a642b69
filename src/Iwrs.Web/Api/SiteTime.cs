using System.Globalization;

namespace Iwrs.Web.Api;

/// <summary>Dates as people at a site read them: in the site's time zone (IANA id from the study), named.</summary>
public static class SiteTime
{
    public static string Format(DateTimeOffset at, string? timeZone)
    {
        var zone = Zone(timeZone);
        var local = TimeZoneInfo.ConvertTime(at, zone);
        return local.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) + " (" + zone.Id + ")";
    }

    public static string Day(DateTimeOffset at, string? timeZone) =>
        TimeZoneInfo.ConvertTime(at, Zone(timeZone)).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>The audit view's form: UTC, to the second.</summary>
    public static string Utc(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + " UTC";

    private static TimeZoneInfo Zone(string? id)
    {
        if (id is not null && TimeZoneInfo.TryFindSystemTimeZoneById(id, out var zone))
        {
            return zone;
        }

        return TimeZoneInfo.Utc;
    }
}

/// <summary>Where a subject stands in the visit schedule: the last visit dispensed, and when the next is due.</summary>
public sealed record VisitPlan(Dispensation? Last, string? NextVisit, DateTimeOffset? NextDue)
{
    public static VisitPlan Of(Subject subject, VisitSchedule schedule)
    {
        var last = subject.Dispensations
            .Select(d => (d, n: Number(schedule, d.Visit)))
            .Where(x => x.n > 0)
            .OrderBy(x => x.n)
            .LastOrDefault();
        if (last.d is null)
        {
            return new VisitPlan(null, null, null);
        }

        if (subject.Status != "randomized" || last.n >= schedule.DispensingVisits)
        {
            return new VisitPlan(last.d, null, null);
        }

        return new VisitPlan(last.d, schedule.VisitPrefix + (last.n + 1).ToString(CultureInfo.InvariantCulture), last.d.At.AddDays(schedule.CycleLengthDays));
    }

    private static int Number(VisitSchedule schedule, string visit) =>
        visit.StartsWith(schedule.VisitPrefix, StringComparison.Ordinal) && int.TryParse(visit.AsSpan(schedule.VisitPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0;
}
