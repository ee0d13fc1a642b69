using System.Security.Cryptography;
using System.Text;
using Iwrs.Domain.Supply;

namespace Iwrs.Domain.Sms;

/// <summary>A code sent to a phone its user asked to register, kept only as a salted hash, with its expiry and wrong tries.</summary>
public sealed record PendingPhone(string Phone, byte[] Salt, byte[] CodeHash, DateTimeOffset ExpiresAt, int Attempts);

/// <summary>
/// One user's SMS phone: the verified number (null until one is verified), a registration waiting for its code, and
/// how many codes were sent in the current window (so a user cannot have codes sent to someone's phone without end).
/// </summary>
public sealed record PhoneRegistration(string? Phone, DateTimeOffset? VerifiedAt, PendingPhone? Pending, int CodesSent, DateTimeOffset? WindowStart)
{
    public static PhoneRegistration None { get; } = new(null, null, null, 0, null);
}

/// <summary>What a typed verification code came to.</summary>
public enum PhoneCodeOutcome
{
    /// <summary>Right and in time: the phone is the user's from now on.</summary>
    Verified,

    /// <summary>Wrong, with tries left.</summary>
    Wrong,

    /// <summary>Wrong for the <see cref="PhoneVerification.MaxAttempts"/>th time: the code is void; register again.</summary>
    Voided,

    /// <summary>The code was older than <see cref="PhoneVerification.Lifetime"/>: void; register again.</summary>
    Expired,

    /// <summary>No registration waits for a code.</summary>
    NoneWaiting,
}

/// <summary>
/// How a user makes a phone theirs for SMS. Only the user, signed in as themselves, registers a number; the system
/// sends a 6-digit code to it, and only that code typed back by the same user within <see cref="Lifetime"/> makes the
/// number theirs. So nobody can tie a number to someone else (and then lock them out with wrong PINs from it). A code
/// works once, and <see cref="MaxAttempts"/> wrong tries void it. At most <see cref="MaxCodesPerWindow"/> codes are
/// sent per user per <see cref="Window"/>, so guessing cannot be renewed by asking again and again: at most 5 × 5
/// guesses a day against 10⁶ codes. Codes are kept only as SHA-256 over a random salt and the code.
/// </summary>
public static class PhoneVerification
{
    /// <summary>
    /// The event of the SMS that carries a code: the one message sent to a number rather than to a person's verified
    /// phone (it has to reach the number being proved).
    /// </summary>
    public const string CodeEvent = "sms.phone-verification";

    public const int CodeLength = 6;
    public const int MaxAttempts = 5;
    public const int MaxCodesPerWindow = 5;
    public const int SaltBytes = 16;
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(10);
    public static readonly TimeSpan Window = TimeSpan.FromHours(24);

    /// <summary>A code of <see cref="CodeLength"/> digits from <paramref name="random"/> (the cryptographic source in production).</summary>
    public static string NewCode(IRandomSource random)
    {
        ArgumentNullException.ThrowIfNull(random);
        return new string([.. Enumerable.Range(0, CodeLength).Select(_ => (char)('0' + random.Next(10)))]);
    }

    /// <summary>The SMS that carries the code. It names no study and no role.</summary>
    public static string Message(string code) =>
        $"Iwrs: your phone verification code is {code}. It expires in {(int)Lifetime.TotalMinutes} minutes. If you did not ask for it, ignore this message.";

    /// <summary>
    /// A user asks to register <paramref name="phone"/>: the new state with the code waiting (any earlier code void),
    /// or the refusal when this window's codes are used up.
    /// </summary>
    public static Result<PhoneRegistration> Start(PhoneRegistration state, string phone, string code, byte[] salt, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(salt);
        ArgumentOutOfRangeException.ThrowIfLessThan(salt.Length, SaltBytes);
        var fresh = state.WindowStart is not { } start || now - start >= Window || now < start;
        var sent = fresh ? 0 : state.CodesSent;
        if (sent >= MaxCodesPerWindow)
        {
            return new DomainError("sms-phone-codes-exhausted",
                $"{MaxCodesPerWindow} verification codes were sent in the last {(int)Window.TotalHours} hours; try again later.");
        }

        return state with
        {
            Pending = new PendingPhone(phone, [.. salt], Hash(salt, code), now + Lifetime, 0),
            CodesSent = checked(sent + 1),
            WindowStart = fresh ? now : state.WindowStart,
        };
    }

    /// <summary>A code typed by the user: the outcome and the state to store (unchanged only when no code waits).</summary>
    public static (PhoneCodeOutcome Outcome, PhoneRegistration State) Verify(PhoneRegistration state, string? code, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Pending is not { } pending)
        {
            return (PhoneCodeOutcome.NoneWaiting, state);
        }

        if (now > pending.ExpiresAt)
        {
            return (PhoneCodeOutcome.Expired, state with { Pending = null });
        }

        if (code is not null && CryptographicOperations.FixedTimeEquals(Hash(pending.Salt, code), pending.CodeHash))
        {
            return (PhoneCodeOutcome.Verified, state with { Phone = pending.Phone, VerifiedAt = now, Pending = null });
        }

        var attempts = checked(pending.Attempts + 1);
        return attempts >= MaxAttempts
            ? (PhoneCodeOutcome.Voided, state with { Pending = null })
            : (PhoneCodeOutcome.Wrong, state with { Pending = pending with { Attempts = attempts } });
    }

    /// <summary>The user gives up their phone: SMS from it no longer acts as them.</summary>
    public static PhoneRegistration Remove(PhoneRegistration state) =>
        (state ?? PhoneRegistration.None) with { Phone = null, VerifiedAt = null, Pending = null };

    private static byte[] Hash(byte[] salt, string code) => SHA256.HashData([.. salt, .. Encoding.UTF8.GetBytes(code)]);
}
