using System.Text.Json;
using Iwrs.Domain.Audit;
using Azure;
using Azure.Data.Tables;

namespace Iwrs.Storage.Stores;

/// <summary>
/// The per-study audit chain in Table rows. The head row (<c>audit-head</c>) holds the last sequence and hash;
/// every change reads it and writes, in the same transaction as the change itself, the next record and the
/// head under If-Match — so two changes cannot both claim the same sequence, and no change lands without its
/// record.
/// </summary>
public static class AuditTrail
{
    public const string HeadRowKey = RandomizationState.Prefix + "audit-head";
    public const string RecordPrefix = "audit|";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The chain head as read for a decision: sequence, hash and the ETag to guard the write.</summary>
    public sealed record Head(long Sequence, string Hash, string? ETag)
    {
        /// <summary>The head of a chain with no record yet.</summary>
        public static Head Genesis { get; } = new(0, AuditRecord.GenesisHash, null);
    }

    public static async Task<Head> ReadHeadAsync(TableClient table, string partition, CancellationToken ct) =>
        await table.GetRowAsync(partition, HeadRowKey, ct) is { } row ? HeadFrom(row) : Head.Genesis;

    public static Head HeadFrom(TableEntity row) => new(row.GetInt64("Sequence") ?? 0, row.GetString("Hash") ?? AuditRecord.GenesisHash, row.Tag());

    public static string RecordKey(long sequence) => RecordPrefix + sequence.ToString("D12", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Adds the record insert and the guarded head update to a transaction that is about to be submitted.</summary>
    public static AuditRecord Append(StudyChange actions, string partition, Head head, DateTimeOffset at, AuditEntry entry) =>
        AppendAll(actions, partition, head, [(at, entry)])[0];

    /// <summary>
    /// Adds one record per entry, chained in order, and one guarded update of the head to the last of them: several
    /// changes committed together (<c>RandomizationQueue</c>) still get a record each, and the head moves once.
    /// </summary>
    public static IReadOnlyList<AuditRecord> AppendAll(StudyChange actions, string partition, Head head, IReadOnlyList<(DateTimeOffset At, AuditEntry Entry)> entries)
    {
        ArgumentNullException.ThrowIfNull(actions);
        ArgumentNullException.ThrowIfNull(head);
        ArgumentOutOfRangeException.ThrowIfZero(entries.Count);
        var records = new List<AuditRecord>(entries.Count);
        var (sequence, hash) = (head.Sequence, head.Hash);
        foreach (var (at, entry) in entries)
        {
            var record = AuditRecord.Append(partition, sequence, hash, at, entry);
            actions.Add(new TableTransactionAction(TableTransactionActionType.Add, ToEntity(record)));
            records.Add(record);
            (sequence, hash) = (record.Sequence, record.Hash);
        }

        var headRow = Rows.New(partition, HeadRowKey);
        headRow.Set("Sequence", sequence);
        headRow.Set("Hash", hash);
        actions.Add(head.ETag is null
            ? new TableTransactionAction(TableTransactionActionType.Add, headRow)
            : new TableTransactionAction(TableTransactionActionType.UpdateReplace, headRow, new ETag(head.ETag)));
        return records;
    }

    /// <summary>
    /// Reads the chain head, appends the record for <paramref name="entry"/> to <paramref name="actions"/>, lets
    /// <paramref name="withSequence"/> add rows that need the record's sequence (outbox notifications are keyed by
    /// it, so one event can never enqueue twice), and submits everything as one transaction.
    /// </summary>
    public static async Task<AuditRecord> SubmitAsync(
        TableClient table, string partition, StudyChange actions, DateTimeOffset at, AuditEntry entry,
        CancellationToken ct, Action<long, StudyChange>? withSequence = null, Head? head = null) =>
        (await SubmitTaggedAsync(table, partition, actions, at, entry, ct, withSequence, head)).Record;

    /// <summary>
    /// <see cref="SubmitAsync"/>, with the new ETag of every row the transaction wrote, by row key; null when the
    /// commit was recognised after a lost answer (then the ETags are unknown).
    /// </summary>
    public static async Task<(AuditRecord Record, IReadOnlyDictionary<string, string>? ETags)> SubmitTaggedAsync(
        TableClient table, string partition, StudyChange actions, DateTimeOffset at, AuditEntry entry,
        CancellationToken ct, Action<long, StudyChange>? withSequence = null, Head? head = null)
    {
        // A decision that rests on rows being absent (no open shipment yet) has no row ETag to guard it: such a
        // caller reads the head before deciding and passes it in, so any change in between fails this write.
        head ??= await ReadHeadAsync(table, partition, ct);
        var record = Append(actions, partition, head, at, entry);
        withSequence?.Invoke(record.Sequence, actions);
        return (record, await SubmitRecordedAsync(table, partition, actions, record, ct));
    }

    /// <summary>
    /// Several changes with a record each (<see cref="AppendAll"/>), submitted as one transaction guarded by
    /// <paramref name="head"/>: the records, and the new ETag of every row written (null as in <see cref="SubmitTaggedAsync"/>).
    /// </summary>
    public static async Task<(IReadOnlyList<AuditRecord> Records, IReadOnlyDictionary<string, string>? ETags)> SubmitAllTaggedAsync(
        TableClient table, string partition, StudyChange actions, IReadOnlyList<(DateTimeOffset At, AuditEntry Entry)> entries, Head head, CancellationToken ct)
    {
        var records = AppendAll(actions, partition, head, entries);
        return (records, await SubmitRecordedAsync(table, partition, actions, records[^1], ct));
    }

    private static async Task<IReadOnlyDictionary<string, string>?> SubmitRecordedAsync(TableClient table, string partition, StudyChange actions, AuditRecord last, CancellationToken ct)
    {
        try
        {
            var tags = await actions.SubmitAsync(table, ct);
            var byKey = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (action, tag) in actions.Zip(tags))
            {
                byKey[action.Entity.RowKey] = tag;
            }

            return byKey;
        }
        catch (TableTransactionFailedException e) when (e.Status is 409 or 412)
        {
            // The SDK retries a transaction whose answer was lost (timeout, dropped connection); if the first try
            // committed, the retry fails on its own rows. Our (last) record at its sequence means it did: deciding
            // again would do the change twice (a second shipment, a second SMS).
            if (!await IsCommittedAsync(table, partition, last, ct))
            {
                throw;
            }
        }

        return null;
    }

    private static async Task<bool> IsCommittedAsync(TableClient table, string partition, AuditRecord record, CancellationToken ct) =>
        await table.GetRowAsync(partition, RecordKey(record.Sequence), ct) is { } row && row.GetString("Hash") == record.Hash;

    /// <summary>Records with the row key each was found under, to check it is its own sequence's key.</summary>
    public static async IAsyncEnumerable<(string RowKey, AuditRecord Record)> ReadWithKeysAsync(TableClient table, string partition, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        await foreach (var row in table.QueryPrefixAsync(partition, RecordPrefix, ct))
        {
            yield return (row.RowKey, FromEntity(row));
        }
    }

    public static async IAsyncEnumerable<AuditRecord> ReadAsync(TableClient table, string partition, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        await foreach (var row in table.QueryPrefixAsync(partition, RecordPrefix, ct))
        {
            yield return FromEntity(row);
        }
    }

    public static TableEntity ToEntity(AuditRecord r)
    {
        var e = Rows.New(r.StudyId, RecordKey(r.Sequence));
        e.Set("Sequence", r.Sequence);
        e.Set("At", r.At);
        e.Set("UserId", r.UserId);
        e.Set("Role", r.Role);
        e.Set("Channel", r.Channel.ToString().ToLowerInvariant());
        e.Set("Action", r.Action);
        e.Set("Target", r.Target);
        e.Set("Changes", JsonSerializer.Serialize(r.Changes, Json));
        if (r.Reason is not null)
        {
            e.Set("Reason", r.Reason);
        }

        e.Set("PreviousHash", r.PreviousHash);
        e.Set("Hash", r.Hash);
        return e;
    }

    public static AuditRecord FromEntity(TableEntity e) => new(
        e.PartitionKey,
        e.GetInt64("Sequence") ?? -1,
        e.GetDateTimeOffset("At") ?? DateTimeOffset.MinValue,
        e.GetString("UserId") ?? string.Empty,
        e.GetString("Role") ?? string.Empty,
        Enum.TryParse<Channel>(e.GetString("Channel"), ignoreCase: true, out var channel) ? channel : Channel.System,
        e.GetString("Action") ?? string.Empty,
        e.GetString("Target") ?? string.Empty,
        Changes(e.GetString("Changes")),
        e.GetString("Reason"),
        e.GetString("PreviousHash") ?? string.Empty,
        e.GetString("Hash") ?? string.Empty);

    /// <summary>
    /// A record's changes; an unreadable field (written by someone with the storage key) becomes one change holding
    /// its text, so the record's hash no longer matches and verify names it, instead of failing.
    /// </summary>
    private static List<AuditChange> Changes(string? json)
    {
        try
        {
            return JsonSerializer.Deserialize<List<AuditChange>>(json ?? "[]", Json) ?? [];
        }
        catch (JsonException)
        {
            return [new AuditChange("(unreadable)", null, json)];
        }
    }
}
