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
    /// hex lower-case. The encoding is documented in README "Audit trail" so anyone can recompute it.
    /// </summary>
    private static string ComputeHash(
        string studyId, long sequence, DateTimeOffset at, string userId, string role, Channel channel, string action,
        string target, IReadOnlyList<AuditChange> changes, string? reason, string previousHash)
    {
        var text = new StringBuilder();
        void Field(string? value)
        {
            if (value is null)
            {
                text.Append("-1:");
                return;
            }

            text.Append(value.Length.ToString(CultureInfo.InvariantCulture)).Append(':').Append(value);
        }

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

/// <summary>The result of checking a chain: intact, or the first record that does not fit.</summary>
public sealed record AuditVerification(bool Intact, long RecordsChecked, long? FirstBadSequence, string? Problem)
{
    /// <summary>
    /// Walks records in sequence order. A record is bad when its sequence is not the next one (removed or
    /// inserted record), its previous hash is not the previous record's hash, or its hash does not match its
    /// content (changed record). <paramref name="headSequence"/>/<paramref name="headHash"/> are the chain head's
    /// claim about the last record, which catches removal of the newest records.
    /// </summary>
    /// <param name="records">The records in stored order.</param>
    /// <param name="headSequence">The chain head's last sequence.</param>
    /// <param name="headHash">The chain head's last hash.</param>
    /// <param name="misplaced">
    /// Where the records come from may know more: e.g. storage returns a record under a key that is not its own
    /// sequence's (a row inserted beside the genuine one). A non-null answer marks that record bad.
    /// </param>
    public static AuditVerification Verify(IEnumerable<AuditRecord> records, long headSequence, string headHash, Func<AuditRecord, string?>? misplaced = null)
    {
        long expected = 1;
        var previousHash = AuditRecord.GenesisHash;
        long count = 0;
        foreach (var record in records)
        {
            if (misplaced?.Invoke(record) is { } where)
            {
                return Bad(count, record.Sequence, $"record {record.Sequence} {where} (inserted).");
            }

            if (record.Sequence != expected)
            {
                return Bad(count, expected, record.Sequence < expected
                    ? $"record {record.Sequence} appears where record {expected} was expected (inserted or duplicated)."
                    : $"record {expected} is missing (the next record found is {record.Sequence}).");
            }

            if (record.PreviousHash != previousHash)
            {
                return Bad(count, record.Sequence, $"record {record.Sequence} does not link to the record before it.");
            }

            if (record.ExpectedHash() != record.Hash)
            {
                return Bad(count, record.Sequence, $"record {record.Sequence} was changed after it was written.");
            }

            previousHash = record.Hash;
            expected = checked(expected + 1);
            count++;
        }

        if (count < headSequence)
        {
            return Bad(count, count + 1, $"record {count + 1} is missing: the trail ends at record {count} but the chain head records {headSequence}.");
        }

        if (count > headSequence)
        {
            return Bad(headSequence, headSequence + 1, $"record {headSequence + 1} was added after the chain head's last record {headSequence}.");
        }

        if (previousHash != headHash)
        {
            return Bad(count, count, $"record {count} does not match the hash the chain head holds for it.");
        }

        return new AuditVerification(true, count, null, null);
    }

    private static AuditVerification Bad(long checkedCount, long sequence, string problem) => new(false, checkedCount, sequence, problem);
}
