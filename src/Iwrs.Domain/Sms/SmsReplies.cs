using System.Globalization;
using System.Text;
using Iwrs.Domain.Studies;
using Iwrs.Domain.Subjects;
using Iwrs.Domain.Supply;

namespace Iwrs.Domain.Sms;

/// <summary>
/// Every text an SMS sender is answered with. Each fits in two SMS segments: plain ASCII (so the GSM-7 alphabet, no
/// switch to UCS-2) and at most <see cref="MaxLength"/> characters. None carries an arm, a kit type, a block size or
/// a list position: the subject's number, kit numbers, visits and dates only, as the blinded HTTP views do. Refusals
/// carry the API's stable code and its message (already written for blinded readers).
/// </summary>
public static class SmsReplies
{
    /// <summary>Two concatenated GSM-7 segments of 153 characters each.</summary>
    public const int MaxLength = 306;

    public const string NotRegistered = "Iwrs: this number is not registered for SMS. Ask your study manager.";

    public const string NoUnblinding = "Iwrs: unblinding is not offered by SMS (a text stays in logs and on the phone). Use the API or web.";

    public const string PinNotSet = "Iwrs: set your SMS PIN first, through the API (PUT /api/sms/pin) or web.";

    public static readonly string Locked = $"Iwrs: SMS is locked after {SmsPins.MaxFailures} wrong PINs in a row. Ask your study manager to unlock it.";

    public static string WrongPin(int failures) =>
        Fit($"Iwrs: wrong PIN ({failures} of {SmsPins.MaxFailures}). Nothing was done. After {SmsPins.MaxFailures} wrong PINs in a row SMS is locked.");

    public static string LockedNow() =>
        Fit($"Iwrs: wrong PIN ({SmsPins.MaxFailures} of {SmsPins.MaxFailures}). Nothing was done and SMS is now locked. Ask your study manager to unlock it.");

    public static string NotUnderstood(string expected) => Fit($"Iwrs: not understood. Expected {expected} Send HELP for the commands.");

    /// <summary>A refusal in the API's terms: its stable code, then its sentence.</summary>
    public static string Refused(DomainError error)
    {
        ArgumentNullException.ThrowIfNull(error);
        var fields = error.Errors is { Count: > 0 } list ? " " + string.Join("; ", list.Select(e => $"{e.Field} {e.Reason}")) : string.Empty;
        return Fit($"Iwrs: not done ({error.Code}). {error.Message}{fields}");
    }

    /// <summary>HELP: each command with an example for the sender's own study, site and (for RAND) its factors.</summary>
    public static string Help(StudyConfiguration study, string site, string pinPlaceholder = "PIN")
    {
        ArgumentNullException.ThrowIfNull(study);
        var s = study.StudyId;
        var factors = (study.Allocation == Allocation.Randomized ? study.Randomization?.StratificationFactors : null) ?? [];
        var example = string.Concat(factors.Select(f => $" {f.Code}={f.Levels[0]}"));
        var visit = study.VisitSchedule.VisitPrefix + "2";
        return Fit(
            $"Iwrs {s}: RAND {s} S-001 {site}{example} {pinPlaceholder} (then reply the code) | DISP {s} S-001 {visit} {pinPlaceholder} | " +
            $"RECV {s} SH0001 {pinPlaceholder} | STATUS {s} S-001 {pinPlaceholder}. Unblinding: API or web only.");
    }

    /// <summary>The first step of RAND: the code to reply with, and what it will do.</summary>
    public static string ConfirmPrompt(StudyConfiguration study, PendingConfirmation pending)
    {
        ArgumentNullException.ThrowIfNull(study);
        ArgumentNullException.ThrowIfNull(pending);
        var act = study.Allocation == Allocation.Randomized ? "randomize" : "enrol";
        var factors = pending.Factors.Count > 0 ? $" ({SmsCommands.FormatFactors(pending.Factors)})" : string.Empty;
        return Fit(
            $"Iwrs {pending.StudyId}: reply {pending.Code} within {(int)ConfirmationCodes.Lifetime.TotalMinutes} minutes to confirm that {pending.SubjectId} " +
            $"at {pending.SiteId}{factors} is eligible and {act} it.");
    }

    public static string Randomized(StudyConfiguration study, Subject subject)
    {
        ArgumentNullException.ThrowIfNull(study);
        ArgumentNullException.ThrowIfNull(subject);
        var done = study.Allocation == Allocation.Randomized ? "randomized" : "enrolled";
        var first = subject.Dispensations.Where(d => d.Visit == subject.Dispensations[0].Visit).ToList();
        return Fit($"Iwrs {study.StudyId} {subject.SubjectId}: {done}, number {subject.Number}. Dispense kit {Kits(first)} ({first[0].Visit}).");
    }

    public static string Dispensed(StudyConfiguration study, Subject subject, string visit)
    {
        ArgumentNullException.ThrowIfNull(study);
        ArgumentNullException.ThrowIfNull(subject);
        return Fit($"Iwrs {study.StudyId} {subject.SubjectId} {visit}: dispense kit {Kits(subject.Dispensations.Where(d => d.Visit == visit).ToList())}.");
    }

    public static string Received(string studyId, Shipment shipment)
    {
        ArgumentNullException.ThrowIfNull(shipment);
        var ok = shipment.Kits.Count(k => k.Condition == KitCondition.Ok);
        var where = shipment.Status switch
        {
            ShipmentStatus.Received => "its kits are on the shelf",
            ShipmentStatus.AwaitingRelease => "it had damaged or missing kits and waits for the depot's release",
            _ => "kits not yet reported still need the API or web",
        };
        return Fit($"Iwrs {studyId} shipment {shipment.ShipmentId} at {shipment.SiteId}: {ok} of {shipment.Kits.Count} kits received ok; {where}.");
    }

    /// <summary>STATUS: the subject's state, its last visit and when the next one is due (the last visit plus one cycle, within the window).</summary>
    public static string Status(StudyConfiguration study, Subject subject)
    {
        ArgumentNullException.ThrowIfNull(study);
        ArgumentNullException.ThrowIfNull(subject);
        var schedule = study.VisitSchedule;
        var last = subject.Dispensations
            .Select(d => (d, Number: SubjectRules.VisitNumber(schedule, d.Visit)))
            .Where(x => x.Number.IsSuccess)
            .OrderBy(x => x.Number.Value)
            .LastOrDefault();
        var head = $"Iwrs {study.StudyId} {subject.SubjectId} ({subject.Number}, site {subject.SiteId}): {Subject.StatusName(subject.Status)}.";
        if (last.d is null)
        {
            return Fit(head + " No visit dispensed yet.");
        }

        var lastText = $" Last visit {last.d.Visit} on {Day(last.d.At)}.";
        if (subject.Status == SubjectStatus.Discontinued)
        {
            return Fit(head + lastText + " No further visits.");
        }

        if (last.Number.Value >= schedule.DispensingVisits)
        {
            return Fit(head + lastText + " No further dispensing visits.");
        }

        var next = schedule.VisitPrefix + (last.Number.Value + 1).ToString(CultureInfo.InvariantCulture);
        var due = last.d.At.AddDays(schedule.CycleLengthDays);
        return Fit(head + lastText + $" Next {next} due {Day(due)} (+/-{schedule.WindowDays} days).");
    }

    public static string CodeUnknown(string code) => Fit($"Iwrs: no pending request with code {code} from this phone. Nothing was done.");

    public static string CodeExpired(string code) =>
        Fit($"Iwrs: code {code} has expired ({(int)ConfirmationCodes.Lifetime.TotalMinutes} minutes). Nothing was done; send the RAND message again.");

    public static string CodeUsed(string code) => Fit($"Iwrs: code {code} was already used. Nothing more was done.");

    /// <summary>
    /// Makes a text fit: characters outside printable ASCII become their nearest ASCII (or '?'), and the backtick, the
    /// one printable ASCII character GSM-7 lacks, becomes an apostrophe, so the text stays in GSM-7 (an accented letter
    /// becomes '?'); anything past two segments (<see cref="MaxLength"/> septets, where each of <c>[ \ ] ^ { | } ~</c>
    /// takes two, an escape and itself) is cut with "...".
    /// </summary>
    public static string Fit(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ascii = new StringBuilder(text.Length);
        // No Unicode normalization to strip accents: the app runs with invariant globalization, which has none.
        foreach (var c in text)
        {
            if (c == '`')
            {
                ascii.Append('\'');
            }
            else if (c is >= ' ' and <= '~')
            {
                ascii.Append(c);
            }
            else
            {
                ascii.Append(c switch
                {
                    '\u2026' => "...",
                    '\u2018' or '\u2019' => "'",
                    '\u201C' or '\u201D' => "\"",
                    '\u2013' or '\u2014' or '\u2212' => "-",
                    '\u00D7' => "x",
                    '\u00B1' => "+/-",
                    '\u2192' => "->",
                    '\n' or '\r' or '\t' => " ",
                    _ => "?",
                });
            }
        }

        var fitted = ascii.ToString();
        if (Septets(fitted) <= MaxLength)
        {
            return fitted;
        }

        var cut = 0;
        for (var used = 0; cut < fitted.Length && used + Septets(fitted[cut]) <= MaxLength - 3; cut++)
        {
            used += Septets(fitted[cut]);
        }

        return fitted[..cut] + "...";
    }

    /// <summary>The GSM-7 septets of printable ASCII: two for the characters of its extension table, one for the rest.</summary>
    public static int Septets(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Sum(Septets);
    }

    private static int Septets(char c) => c is '[' or '\\' or ']' or '^' or '{' or '|' or '}' or '~' ? 2 : 1;

    private static string Kits(IReadOnlyList<Dispensation> dispensations) => string.Join(", ", dispensations.Select(d => d.KitNumber));

    private static string Day(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}
