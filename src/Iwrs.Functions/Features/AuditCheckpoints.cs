using Azure.Data.Tables;
using Iwrs.Domain.Audit;
using Iwrs.Functions.Hosting;
using Iwrs.Storage.Stores;

namespace Iwrs.Functions.Features;

/// <summary>
/// Signed checkpoints of each study's audit chain and of the system partition's, and the verification that uses them. A checkpoint is written by
/// the timer (for every study whose head moved since its newest checkpoint) and after every emergency unblinding,
/// and only for a chain that verifies: signing a chain already altered would vouch for the alteration.
/// </summary>
public sealed class AuditCheckpoints(IwrsTable table, AuditCheckpointStore store, AuditSigning signing, TimeProvider time, ILogger<AuditCheckpoints> log)
{
    public const string FunctionName = "AuditCheckpoint";

    /// <summary>Reads the trail again when a change landed while it was being read (the head moved), at most this often.</summary>
    private const int ConsistentReadAttempts = 3;

    /// <summary>The chain as verified, with the head it was read under.</summary>
    public sealed record Checked(AuditVerification Verification, AuditTrail.Head Head);

    /// <summary>
    /// The chain against its head and every checkpoint blob. A study exists, so its trail must not be empty (the system
    /// partition's may be, until its first record).
    /// <paramref name="genuineOnly"/>: only against the blobs that are checkpoints of this study under their own name
    /// with a valid signature — what deciding to sign needs, so that a junk or forged blob (anyone with the storage
    /// key can add one, and a retention policy then keeps it) cannot stop every later checkpoint. Verify itself
    /// checks every blob and reports such a one.
    /// </summary>
    public async Task<Checked> VerifyAsync(TableClient client, string studyId, CancellationToken ct, bool genuineOnly = false)
    {
        var head = await AuditTrail.ReadHeadAsync(client, studyId, ct);
        var records = new List<AuditRecord>();
        var keys = new Dictionary<AuditRecord, string>(ReferenceEqualityComparer.Instance);
        for (var attempt = 1; ; attempt++)
        {
            records.Clear();
            keys.Clear();
            await foreach (var (key, record) in AuditTrail.ReadWithKeysAsync(client, studyId, ct))
            {
                records.Add(record);
                keys[record] = key;
            }

            // Head and record are written in one transaction: if the head did not move while the records were read,
            // they are one consistent state, and a record the head does not account for was not written by the app.
            var after = await AuditTrail.ReadHeadAsync(client, studyId, ct);
            if ((after.Sequence == head.Sequence && after.Hash == head.Hash) || attempt == ConsistentReadAttempts)
            {
                break;
            }

            head = after;
        }

        var checkpoints = await store.ReadAllAsync(studyId, ct);
        if (genuineOnly)
        {
            checkpoints = [.. checkpoints.Where(c => c.Signed is { } signed && signed.Checkpoint.StudyId == studyId && signed.Checkpoint.Name == c.Name && signing.Keys.Verifies(signed))];
        }

        var verification = AuditVerification.Verify(studyId, records, head.Sequence, head.Hash, r =>
            keys[r] == AuditTrail.RecordKey(r.Sequence) ? null : $"is stored under '{keys[r]}', not under its own key",
            new AuditEvidence(checkpoints, signing.Keys, StudyHasData: studyId != IwrsTable.SystemPartition));
        return new Checked(verification, head);
    }

    /// <summary>The timer: a checkpoint for each study whose head moved; one study's failure does not stop the others.</summary>
    public async Task<IReadOnlyList<string>> RunAsync(TimerInvocation invocation, CancellationToken ct)
    {
        var client = await table.GetAsync(ct);
        var lines = new List<string>();
        // Keys only: a study whose stored configuration no longer parses must not stop the others' checkpoints. Then
        // the system partition's chain (administrator grants, SMS PINs, locks, unlocks and phones), which no study holds.
        foreach (var studyId in (await StudyStore.PartitionsAsync(client, ct)).Where(p => p != IwrsTable.SystemPartition).Append(IwrsTable.SystemPartition))
        {
            lines.Add(await TryCheckpointAsync(client, studyId, ct));
        }

        return lines;
    }

    /// <summary>Writes a checkpoint of the study's head if it moved; a storage failure is logged and named, not thrown.</summary>
    public async Task<string> TryCheckpointAsync(TableClient client, string studyId, CancellationToken ct)
    {
        try
        {
            return await CheckpointAsync(client, studyId, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A storage failure or an unreadable row (a record whose fields do not parse): logged and named, and the
            // next study is still checkpointed.
            log.LogError("Audit checkpoint failed for {Study}: {Error}", studyId, e.GetType().Name);
            return $"{studyId}: checkpoint failed ({e.GetType().Name})";
        }
    }

    private async Task<string> CheckpointAsync(TableClient client, string studyId, CancellationToken ct)
    {
        var head = await AuditTrail.ReadHeadAsync(client, studyId, ct);
        var names = await store.NamesAsync(studyId, ct);
        if (head.Sequence == 0 && names.Count == 0)
        {
            // The system partition before its first record: nothing to sign, nothing signed that could be missing.
            return $"{studyId}: unchanged, no record yet";
        }

        if (head.Sequence > 0 && names.Count > 0 && names[^1] == AuditCheckpoint.NameOf(studyId, head.Sequence))
        {
            return $"{studyId}: unchanged since checkpoint {head.Sequence}";
        }

        var (verification, verifiedHead) = await VerifyAsync(client, studyId, ct, genuineOnly: true);
        if (!verification.Intact)
        {
            log.LogError("Audit trail of {Study} does not verify, so no checkpoint was signed: {Problem}", studyId, verification.Problem);
            return $"{studyId}: not signed, the trail does not verify (first bad record {verification.FirstBadSequence})";
        }

        if (verifiedHead.Sequence == 0 || verification.NewestCheckpoint?.Sequence == verifiedHead.Sequence)
        {
            return $"{studyId}: nothing new to sign";
        }

        var signed = signing.Sign(new AuditCheckpoint(studyId, verifiedHead.Sequence, verifiedHead.Hash, time.GetUtcNow()));
        return await store.CreateAsync(signed, ct)
            ? $"{studyId}: checkpoint {verifiedHead.Sequence} signed with key {signed.KeyId}"
            : $"{studyId}: checkpoint {verifiedHead.Sequence} was already there";
    }
}
