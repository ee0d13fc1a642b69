using Iwrs.Domain.Access;

namespace Iwrs.Domain.Notifications;

/// <summary>
/// One SMS to one person, as an event's transaction enqueues it (see Iwrs.Storage.Stores.Outbox). The body is
/// final text: whoever builds it is responsible for the blinding rules (no arm, kit type or per-type stock).
/// </summary>
/// <param name="Id">
/// Chosen by the caller from the event (e.g. <c>audit-000000000042-r0</c>: audit sequence and recipient index), so that
/// a retried event produces the same id and cannot enqueue the message twice.
/// </param>
/// <param name="RecipientUserId">The user the message is for, so delivery can be traced to a person without the number.</param>
/// <param name="To">
/// The E.164 number of a message to a number: only the phone verification code, which has to reach the number being
/// proved (<see cref="ToNumber"/>). Null for a notice to a person (<see cref="ToOwnPhone"/>): it goes to the phone the
/// recipient registered and verified themselves, looked up when it is sent, and to nobody when they have none. A
/// number given by anyone else (a phone on a role grant) never addresses anything.
/// </param>
/// <param name="Body">The SMS text, 1 to 1,600 characters, line breaks allowed.</param>
/// <param name="Event">What caused the message (<c>subject.randomized</c>, <c>shipment.dispatched</c>, …).</param>
/// <param name="RecipientRole">
/// The role the recipient gets it in, so a log line can say who it was for without the number or the text. Null when
/// unknown (a message queued before the role was recorded).
/// </param>
/// <param name="Partition">
/// The study (or system) partition its outbox record lives in: set by the dispatcher when it sends, so that the
/// provider's delivery reports can name the record (ids are unique per partition only). Not stored.
/// </param>
public sealed record Notification(string Id, string RecipientUserId, string? To, string Body, string Event, Role? RecipientRole = null, string? Partition = null)
{
    /// <summary>Twilio refuses bodies over 1,600 characters (https://www.twilio.com/docs/api/errors/21617).</summary>
    public const int MaxBodyLength = 1600;

    /// <summary>Ids end up in two RowKeys (<c>outbox|{Id}</c>, <c>outbox-due|{time}|{Id}</c>), well under the 1 KiB key limit.</summary>
    public const int MaxIdLength = 128;

    /// <summary>The same bound the app uses for user ids (Entra object ids and local ids).</summary>
    public const int MaxUserIdLength = 128;

    /// <summary>What log lines name the recipient by: the role's name, or <c>unknown</c>.</summary>
    public string RecipientRoleName => RecipientRole?.Name() ?? "unknown";

    /// <summary>Whether the message goes to its recipient's own verified phone (looked up at sending), not to <see cref="To"/>.</summary>
    public bool ToVerifiedPhone => To is null;

    /// <summary>A message to the number <paramref name="to"/> (the phone verification code). Validates every field and lists every problem at once.</summary>
    public static Result<Notification> ToNumber(string? id, string? recipientUserId, string? to, string? body, string? @event, Role? recipientRole = null) =>
        Validate(id, recipientUserId, to, numberGiven: true, body, @event, recipientRole);

    /// <summary>A notice to the person <paramref name="recipientUserId"/>, in <paramref name="recipientRole"/>: it goes to the phone they verified, or nowhere.</summary>
    public static Result<Notification> ToOwnPhone(string? id, string? recipientUserId, string? body, string? @event, Role? recipientRole = null) =>
        Validate(id, recipientUserId, null, numberGiven: false, body, @event, recipientRole);

    private static Result<Notification> Validate(string? id, string? recipientUserId, string? to, bool numberGiven, string? body, string? @event, Role? recipientRole)
    {
        var errors = new List<FieldError>();
        if (!Identifiers.IsValid(id, MaxIdLength))
        {
            errors.Add(new FieldError("id", $"1 to {MaxIdLength} characters: ASCII letters, digits, '-', '_' or '.'"));
        }

        if (!Identifiers.IsValid(recipientUserId, MaxUserIdLength))
        {
            errors.Add(new FieldError("recipientUserId", $"1 to {MaxUserIdLength} characters: ASCII letters, digits, '-', '_' or '.'"));
        }

        if (numberGiven && !PhoneNumbers.IsE164(to))
        {
            errors.Add(new FieldError("to", PhoneNumbers.E164Rule));
        }

        if (BodyProblem(body) is { } problem)
        {
            errors.Add(new FieldError("body", problem));
        }

        if (!Identifiers.IsValid(@event))
        {
            errors.Add(new FieldError("event", Identifiers.Rule));
        }

        return errors.Count > 0
            ? DomainError.Validation(errors, "The notification is not valid.")
            : new Notification(id!, recipientUserId!, to!, body!, @event!, recipientRole);
    }

    private static string? BodyProblem(string? body)
    {
        if (string.IsNullOrEmpty(body))
        {
            return "The body must not be empty.";
        }

        if (body.Length > MaxBodyLength)
        {
            return $"The body must be at most {MaxBodyLength} characters; this one has {body.Length}.";
        }

        for (var i = 0; i < body.Length; i++)
        {
            var c = body[i];

            // Line breaks are the only layout an SMS has; anything else invisible is a bug or an injection attempt.
            if (char.IsControl(c) && c != '\n')
            {
                return $"The body must not contain control characters other than '\\n' (found U+{(int)c:X4} at position {i}).";
            }

            if (char.IsHighSurrogate(c) && i + 1 < body.Length && char.IsLowSurrogate(body[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                return $"The body must be valid UTF-16 (unpaired surrogate at position {i}).";
            }
        }

        return null;
    }
}

/// <summary>Phone numbers as Twilio takes them.</summary>
public static class PhoneNumbers
{
    public const string E164Rule = "An E.164 number: '+', then 8 to 15 digits, the first not 0 (e.g. +8613800138000).";

    /// <summary>
    /// E.164 (ITU-T): at most 15 digits, country codes never start with 0. We ask for at least 8 digits because no
    /// real mobile number is shorter with its country code, so a truncated number fails here rather than at Twilio.
    /// </summary>
    public static bool IsE164(string? value)
    {
        if (value is null || value.Length is < 9 or > 16 || value[0] != '+' || value[1] == '0')
        {
            return false;
        }

        for (var i = 1; i < value.Length; i++)
        {
            if (!char.IsAsciiDigit(value[i]))
            {
                return false;
            }
        }

        return true;
    }
}
