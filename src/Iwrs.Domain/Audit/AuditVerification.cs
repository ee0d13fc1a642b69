namespace Iwrs.Domain.Audit;

/// <summary>The result of checking a chain: intact, or the first record that does not fit.</summary>
public sealed record AuditVerification(bool Intact, long RecordsChecked, long? FirstBadSequence, string? Problem)
{
    /// <summary>How many signed checkpoints the chain was checked against.</summary>
    public int CheckpointsChecked { get; init; }

    /// <summary>The newest checkpoint that is valid and matches the chain; null when there is none.</summary>
    public AuditCheckpoint? NewestCheckpoint { get; init; }

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
    public static AuditVerification Verify(IEnumerable<AuditRecord> records, long headSequence, string headHash, Func<AuditRecord, string?>? misplaced = null) =>
        Walk(records, headSequence, headHash, misplaced, []);

    /// <summary>
    /// The chain as <see cref="Verify(IEnumerable{AuditRecord}, long, string, Func{AuditRecord, string?}?)"/> checks
    /// it, then against every checkpoint in <paramref name="evidence"/>: each must be a readable checkpoint of this
    /// study stored under its own name, signed by one of the keys, and its sequence must be in the chain with the
    /// hash it signed. Someone who rewrites the table consistently (a shorter chain with a rewritten head, an emptied
    /// trail, records changed and re-hashed) cannot also sign: the first checkpoint that no longer fits names it.
    /// A study with data and no record at all is bad even before its first checkpoint.
    /// </summary>
    public static AuditVerification Verify(string studyId, IEnumerable<AuditRecord> records, long headSequence, string headHash, Func<AuditRecord, string?>? misplaced, AuditEvidence evidence)
    {
        ArgumentNullException.ThrowIfNull(evidence);
        var hashes = new List<string>();
        var chain = Walk(records, headSequence, headHash, misplaced, hashes);
        if (!chain.Intact)
        {
            return chain;
        }

        var count = chain.RecordsChecked;
        long covered = 0;
        AuditCheckpoint? newest = null;
        var checkedCount = 0;
        foreach (var stored in evidence.Checkpoints.OrderBy(c => c.Signed?.Checkpoint.Sequence ?? long.MaxValue).ThenBy(c => c.Name, StringComparer.Ordinal))
        {
            if (stored.Signed is not { } signed)
            {
                return Bad(count, covered + 1, $"checkpoint blob '{stored.Name}' holds no readable checkpoint.") with { CheckpointsChecked = checkedCount, NewestCheckpoint = newest };
            }

            var checkpoint = signed.Checkpoint;
            if (checkpoint.StudyId != studyId || checkpoint.Name != stored.Name)
            {
                return Bad(count, covered + 1, $"checkpoint blob '{stored.Name}' holds the checkpoint of {checkpoint.StudyId} record {checkpoint.Sequence}, which belongs under '{checkpoint.Name}'.") with { CheckpointsChecked = checkedCount, NewestCheckpoint = newest };
            }

            if (!evidence.Keys.Verifies(signed))
            {
                return Bad(count, checkpoint.Sequence, $"checkpoint {checkpoint.Sequence} has a bad signature (key id '{signed.KeyId}'): it was changed or forged.") with { CheckpointsChecked = checkedCount, NewestCheckpoint = newest };
            }

            checkedCount++;
            if (checkpoint.Sequence > count)
            {
                return Bad(count, count + 1, $"the chain is shorter than a signed checkpoint: it ends at record {count}, but checkpoint {checkpoint.Sequence} was signed at {Utc(checkpoint.At)}; records {count + 1} to {checkpoint.Sequence} were removed.") with { CheckpointsChecked = checkedCount, NewestCheckpoint = newest };
            }

            if (checkpoint.Sequence > 0 && hashes[(int)(checkpoint.Sequence - 1)] != checkpoint.Hash)
            {
                return Bad(count, covered + 1, $"checkpoint {checkpoint.Sequence}'s hash is not in the chain: record {checkpoint.Sequence} carries another hash than the one signed at {Utc(checkpoint.At)}, so a record after {covered} was changed and the chain re-hashed.") with { CheckpointsChecked = checkedCount, NewestCheckpoint = newest };
            }

            covered = checkpoint.Sequence;
            newest = checkpoint;
        }

        if (count == 0 && evidence.StudyHasData)
        {
            return Bad(0, 1, "the study has data but no audit record: its trail was removed.") with { CheckpointsChecked = checkedCount };
        }

        return chain with { CheckpointsChecked = checkedCount, NewestCheckpoint = newest };
    }

    private static AuditVerification Walk(IEnumerable<AuditRecord> records, long headSequence, string headHash, Func<AuditRecord, string?>? misplaced, List<string> hashes)
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
            hashes.Add(record.Hash);
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

    private static string Utc(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);

    private static AuditVerification Bad(long checkedCount, long sequence, string problem) => new(false, checkedCount, sequence, problem);
}
