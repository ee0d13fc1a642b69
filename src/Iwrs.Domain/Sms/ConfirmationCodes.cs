using Iwrs.Domain.Supply;

namespace Iwrs.Domain.Sms;

/// <summary>
/// A randomization asked for by SMS and not yet confirmed: who asked, from which phone, what, and until when the code
/// holds. <see cref="UsedBy"/> is the MessageSid of the confirmation that used it (a code works once).
/// </summary>
public sealed record PendingConfirmation(
    string Code, string Phone, string UserId, string StudyId, string SubjectId, string SiteId,
    IReadOnlyDictionary<string, string> Factors, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, string? UsedBy);

/// <summary>Whether a confirmation may act.</summary>
public enum ConfirmationCheck
{
    /// <summary>Act on it: unused and in time (or used by this very message, whose first try did not finish).</summary>
    Go,

    /// <summary>More than <see cref="ConfirmationCodes.Lifetime"/> after the request: nothing is done.</summary>
    Expired,

    /// <summary>Already confirmed by another message: nothing is done again.</summary>
    Used,

    /// <summary>Sent from a phone other than the one that asked.</summary>
    WrongPhone,
}

/// <summary>
/// Randomization by SMS takes two steps: the RAND message is answered with a short code, and only the same phone
/// replying with it within 5 minutes randomizes. Codes are 6 characters from 32 that cannot be misread (no 0/O, 1/I),
/// about 10⁹ codes, drawn from the cryptographic random source; a code is looked up together with the phone, so it
/// need only be unguessable, not unique.
/// </summary>
public static class ConfirmationCodes
{
    public const string Alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    public const int Length = 6;
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(5);

    public static string New(IRandomSource random)
    {
        ArgumentNullException.ThrowIfNull(random);
        string code;
        do
        {
            code = new string([.. Enumerable.Range(0, Length).Select(_ => Alphabet[random.Next(Alphabet.Length)])]);
        }
        while (SmsCommands.IsKeyword(code));

        return code;
    }

    /// <summary>A word that is a code in any case, and no keyword (<see cref="SmsCommands.IsKeyword"/>).</summary>
    public static bool IsCode(string word) =>
        word is { Length: Length } && word.All(c => Alphabet.Contains(char.ToUpperInvariant(c), StringComparison.Ordinal)) && !SmsCommands.IsKeyword(word);

    public static PendingConfirmation Create(
        string code, string phone, string userId, string studyId, string subjectId, string siteId, IReadOnlyDictionary<string, string> factors, DateTimeOffset now) =>
        new(code, phone, userId, studyId, subjectId, siteId, factors, now, now + Lifetime, null);

    /// <summary>Whether <paramref name="messageSid"/> from <paramref name="phone"/> at <paramref name="now"/> may act on <paramref name="pending"/>.</summary>
    public static ConfirmationCheck Check(PendingConfirmation pending, string phone, string messageSid, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(pending);
        if (!string.Equals(pending.Phone, phone, StringComparison.Ordinal))
        {
            return ConfirmationCheck.WrongPhone;
        }

        if (pending.UsedBy is not null)
        {
            return pending.UsedBy == messageSid ? ConfirmationCheck.Go : ConfirmationCheck.Used;
        }

        return now > pending.ExpiresAt ? ConfirmationCheck.Expired : ConfirmationCheck.Go;
    }
}
