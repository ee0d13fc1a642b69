using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Iwrs.Domain.Audit;

/// <summary>How a change came in.</summary>
public enum Channel { Http, Sms, Timer, System }

/// <summary>One changed value. <see cref="Unblinded"/> values are withheld from blinded readers.</summary>
public sealed record AuditChange(string Field, string? Before, string? After, bool Unblinded = false);

/// <summary>What is about to be recorded: who, how, what, why. The chain adds when, sequence and hashes.</summary>
public sealed record AuditEntry(
    string UserId,
    string Role,
    Channel Channel,
    string Action,
    string Target,
    IReadOnlyList<AuditChange> Changes,
    string? Reason = null);

/// <summary>
/// One record of a study's append-only audit trail. Each record's hash covers its content and the previous
/// record's hash, so changing, removing or inserting a record breaks every hash after it.
/// </summary>
public sealed record AuditRecord(
    string StudyId,
    long Sequence,
    DateTimeOffset At,
    string UserId,
    string Role,
    Channel Channel,
    string Action,
    string Target,
    IReadOnlyList<AuditChange> Changes,
    string? Reason,
    string PreviousHash,
    string Hash)
{
    /// <summary>The hash before the first record of a chain.</summary>
    public const string GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000";

    /// <summary>Appends <paramref name="entry"/> after a chain whose last record had <paramref name="previousSequence"/> and <paramref name="previousHash"/>.</summary>
    public static AuditRecord Append(string studyId, long previousSequence, string previousHash, DateTimeOffset at, AuditEntry entry)
    {
        var sequence = checked(previousSequence + 1);
        var utc = at.ToUniversalTime();
        var hash = ComputeHash(studyId, sequence, utc, entry.UserId, entry.Role, entry.Channel, entry.Action, entry.Target, entry.Changes, entry.Reason, previousHash);
        return new AuditRecord(studyId, sequence, utc, entry.UserId, entry.Role, entry.Channel, entry.Action, entry.Target, entry.Changes, entry.Reason, previousHash, hash);
    }

    /// <summary>The hash this record should carry given its content; a verifier compares it with <see cref="Hash"/>.</summary>
    public string ExpectedHash() =>
        ComputeHash(StudyId, Sequence, At, UserId, Role, Channel, Action, Target, Changes, Reason, PreviousHash);

    /// <summary>
    /// SHA-256 over a length-prefixed encoding of every field (so no two different records encode alike),
    /// hex lower-case. The number of changes is a field of its own, written before the changes. README "Audit
    /// trail" describes the encoding and tools/Iwrs.AuditVerify recomputes it without this code.
    /// </summary>
    private static string ComputeHash(
        string studyId, long sequence, DateTimeOffset at, string userId, string role, Channel channel, string action,
        string target, IReadOnlyList<AuditChange> changes, string? reason, string previousHash)
    {
        var text = new StringBuilder();
        void Field(string? value) => LengthPrefixed.Append(text, value);

        Field(previousHash);
        Field(studyId);
        Field(sequence.ToString(CultureInfo.InvariantCulture));
        Field(at.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture));
        Field(userId);
        Field(role);
        Field(channel.ToString().ToLowerInvariant());
        Field(action);
        Field(target);
        Field(changes.Count.ToString(CultureInfo.InvariantCulture));
        foreach (var change in changes)
        {
            Field(change.Field);
            Field(change.Before);
            Field(change.After);
            Field(change.Unblinded ? "u" : "b");
        }

        Field(reason);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    /// <summary>The record as a blinded reader sees it: unblinded values replaced by a marker.</summary>
    public AuditRecord Blinded() => this with
    {
        Changes = Changes.Select(c => c.Unblinded ? c with { Before = c.Before is null ? null : Withheld, After = c.After is null ? null : Withheld } : c).ToList(),
    };

    public const string Withheld = "(withheld)";
}
