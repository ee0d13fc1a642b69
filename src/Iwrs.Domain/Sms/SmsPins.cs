using System.Security.Cryptography;
using System.Text;

namespace Iwrs.Domain.Sms;

/// <summary>A PIN as stored: PBKDF2-HMAC-SHA-256 of the PIN with a random salt, and the iteration count used. Never the PIN.</summary>
public sealed record PinHash(byte[] Salt, byte[] Hash, int Iterations);

/// <summary>One user's SMS PIN and lockout: the hash (null until set), wrong PINs in a row, and when SMS was locked.</summary>
public sealed record PinState(PinHash? Hash, int Failures, DateTimeOffset? LockedAt)
{
    public static PinState None { get; } = new(null, 0, null);

    public bool IsLocked => LockedAt is not null;
}

/// <summary>What a PIN typed in a command came to.</summary>
public enum PinOutcome
{
    /// <summary>Right: the command goes ahead (and the count of wrong PINs starts again).</summary>
    Accepted,

    /// <summary>Wrong, and SMS stays open: fewer than <see cref="SmsPins.MaxFailures"/> in a row.</summary>
    Wrong,

    /// <summary>Wrong for the <see cref="SmsPins.MaxFailures"/>th time in a row: SMS is locked from now on.</summary>
    LockedNow,

    /// <summary>SMS was already locked: nothing is checked until a study manager unlocks it.</summary>
    Locked,

    /// <summary>The user has set no PIN.</summary>
    NotSet,
}

/// <summary>
/// The SMS PIN policy. A PIN is 4 to 8 digits, typed at the end of every command that acts, so it must be short; it
/// is not one digit repeated nor a straight run (1234, 9876), the guesses tried first. Five wrong PINs in a row lock
/// SMS for the user until a study manager unlocks it, so a guesser gets five tries, never ten thousand. Stored only as
/// PBKDF2-HMAC-SHA-256 with a 16-byte random salt and <see cref="Iterations"/> iterations (NIST SP 800-132; the count
/// is stored with each hash, so raising it later needs no migration).
/// </summary>
public static class SmsPins
{
    public const int MinLength = 4;
    public const int MaxLength = 8;
    public const int MaxFailures = 5;
    public const int Iterations = 100_000;
    public const int SaltBytes = 16;
    public const int HashBytes = 32;

    public const string Rule = "4 to 8 digits, not one digit repeated and not a straight run such as 1234 or 9876.";

    /// <summary>Null when <paramref name="pin"/> may be set; otherwise the refusal.</summary>
    public static DomainError? CheckPolicy(string? pin)
    {
        if (pin is null || pin.Length is < MinLength or > MaxLength || !pin.All(char.IsAsciiDigit))
        {
            return DomainError.Validation([new FieldError("pin", "must be " + Rule)]);
        }

        var repeated = pin.All(c => c == pin[0]);
        var up = Enumerable.Range(1, pin.Length - 1).All(i => pin[i] == pin[i - 1] + 1);
        var down = Enumerable.Range(1, pin.Length - 1).All(i => pin[i] == pin[i - 1] - 1);
        return repeated || up || down ? DomainError.Validation([new FieldError("pin", "is too easy to guess: " + Rule)]) : null;
    }

    /// <summary>The hash of <paramref name="pin"/> under <paramref name="salt"/> (the caller draws it from a cryptographic source).</summary>
    public static PinHash Hash(string pin, byte[] salt, int iterations = Iterations)
    {
        ArgumentNullException.ThrowIfNull(pin);
        ArgumentNullException.ThrowIfNull(salt);
        ArgumentOutOfRangeException.ThrowIfLessThan(salt.Length, SaltBytes);
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, Iterations);
        return new PinHash([.. salt], Derive(pin, salt, iterations), iterations);
    }

    /// <summary>Whether <paramref name="pin"/> is the one hashed, compared in constant time.</summary>
    public static bool Matches(PinHash stored, string pin)
    {
        ArgumentNullException.ThrowIfNull(stored);
        ArgumentNullException.ThrowIfNull(pin);
        return CryptographicOperations.FixedTimeEquals(Derive(pin, stored.Salt, stored.Iterations), stored.Hash);
    }

    /// <summary>
    /// A command's PIN against the user's state: the outcome and the state to store (unchanged when Accepted with no
    /// earlier failures, Locked or NotSet: nothing to write).
    /// </summary>
    public static (PinOutcome Outcome, PinState State) Attempt(PinState state, string pin, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.IsLocked)
        {
            return (PinOutcome.Locked, state);
        }

        if (state.Hash is null)
        {
            return (PinOutcome.NotSet, state);
        }

        if (Matches(state.Hash, pin))
        {
            return (PinOutcome.Accepted, state.Failures == 0 ? state : state with { Failures = 0 });
        }

        var failures = checked(state.Failures + 1);
        return failures >= MaxFailures
            ? (PinOutcome.LockedNow, state with { Failures = failures, LockedAt = now })
            : (PinOutcome.Wrong, state with { Failures = failures });
    }

    /// <summary>A new PIN: its hash, the count of wrong PINs cleared. A lock stays until a study manager lifts it.</summary>
    public static PinState Set(PinState state, PinHash hash) => (state ?? PinState.None) with { Hash = hash, Failures = 0 };

    /// <summary>A study manager's unlock: SMS open again, the count cleared, the PIN kept.</summary>
    public static PinState Unlock(PinState state) => (state ?? PinState.None) with { Failures = 0, LockedAt = null };

    private static byte[] Derive(string pin, byte[] salt, int iterations) =>
        Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(pin), salt, iterations, HashAlgorithmName.SHA256, HashBytes);
}
