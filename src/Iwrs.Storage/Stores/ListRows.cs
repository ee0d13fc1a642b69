using System.Globalization;
using System.Text.Json;
using Iwrs.Domain;
using Iwrs.Domain.Randomization;
using Azure;
using Azure.Data.Tables;

namespace Iwrs.Storage.Stores;

/// <summary>
/// The randomization list in the study partition (unblinded rows, never shown to blinded roles):
/// <c>slot|{stratum}|{position}</c> per slot, <c>stratum|{stratum}</c> holding the next position to use, and
/// <c>list</c>, written last, which activates the list and records its SHA-256 commitment. Slots are written
/// before activation in several transactions (a list has more than 100 rows); they carry the list id, so a slot
/// left over from an abandoned upload is never used.
/// </summary>
public static class ListRows
{
    public const string ListKey = RandomizationState.Prefix + "list";
    public const string StagingKey = "list-staging";
    public const string SlotPrefix = "slot|";
    public const string PointerPrefix = RandomizationState.Prefix + "next|";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>
    /// <paramref name="Commitment"/>: the list's SHA-256 (its identity); <paramref name="Published"/>: the salted
    /// commitment in the audit trail, and <paramref name="Salt"/> (hex) its key, for unblinded roles only. A list
    /// activated before salting has neither.
    /// </summary>
    /// <paramref name="PublicSlotsPerStratum"/>: <see cref="RandomizationList.PublicSlotsPerStratum"/>, null for a list
    /// activated before it was kept (then the whole list is used).
    public sealed record ActiveList(string ListId, string Commitment, string Source, IReadOnlyDictionary<string, int> SlotCounts, DateTimeOffset ActivatedAt, string ActivatedBy, string? Published = null, string? Salt = null, int? PublicSlotsPerStratum = null);

    public sealed record StoredSlot(ListSlot Slot, string ListId, string? SubjectId, string ETag);

    public sealed record Pointer(int Next, string? ETag);

    public static string ListIdOf(string commitment) => commitment[..16];

    public static string SlotKey(string stratumKey, int position) => $"{SlotPrefix}{stratumKey}|{position.ToString("D6", CultureInfo.InvariantCulture)}";

    public static string PointerKey(string stratumKey) => PointerPrefix + stratumKey;

    public static async Task<ActiveList?> GetActiveAsync(TableClient table, string studyId, CancellationToken ct)
    {
        var row = await table.GetRowAsync(studyId, ListKey, ct);
        return row is null ? null : ActiveFrom(row);
    }

    public static ActiveList ActiveFrom(TableEntity row) =>
        new(
            row.GetString("ListId") ?? string.Empty,
            row.GetString("Commitment") ?? string.Empty,
            row.GetString("Source") ?? string.Empty,
            JsonSerializer.Deserialize<Dictionary<string, int>>(row.GetString("SlotCounts") ?? "{}", Json) ?? [],
            row.GetDateTimeOffset("ActivatedAt") ?? DateTimeOffset.MinValue,
            row.GetString("ActivatedBy") ?? string.Empty,
            row.GetString("Published"),
            row.GetString("Salt"),
            row.GetInt32("PublicSlotsPerStratum"));

    public static TableEntity ActiveEntity(string studyId, RandomizationList list, DateTimeOffset at, string userId, byte[] salt)
    {
        var e = Rows.New(studyId, ListKey);
        e.Set("ListId", ListIdOf(list.Commitment));
        e.Set("Commitment", list.Commitment);
        e.Set("Published", RandomizationList.SaltedCommitment(salt, list.CanonicalText));
        e.Set("Salt", Convert.ToHexStringLower(salt));
        e.Set("Source", list.Source);
        e.Set("PublicSlotsPerStratum", list.PublicSlotsPerStratum);
        e.Set("SlotCounts", JsonSerializer.Serialize(list.Slots.GroupBy(s => s.StratumKey).ToDictionary(g => g.Key, g => g.Count()), Json));
        e.Set("ActivatedAt", at);
        e.Set("ActivatedBy", userId);
        return e;
    }

    public static TableEntity SlotEntity(string studyId, string listId, ListSlot slot)
    {
        var e = Rows.New(studyId, SlotKey(slot.StratumKey, slot.Position));
        e.Set("ListId", listId);
        e.Set("Arm", slot.ArmCode);
        e.Set("Block", slot.BlockNumber);
        e.Set("BlockSize", slot.BlockSize);
        return e;
    }

    /// <summary>
    /// Up to <paramref name="count"/> slots of a stratum from position <paramref name="from"/> on, in one range read: the
    /// slots a stratum's next randomizations take, read once for several.
    /// </summary>
    public static async Task<IReadOnlyList<StoredSlot>> SlotsFromAsync(TableClient table, string studyId, string stratumKey, int from, int count, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {studyId} and RowKey ge {SlotKey(stratumKey, from)} and RowKey lt {SlotKey(stratumKey, from + count)}");
        var rows = await table.FirstAsync(filter, count, ct);
        return [.. rows.Select(r => FromSlotEntity(stratumKey, int.Parse(r.RowKey[(r.RowKey.LastIndexOf('|') + 1)..], CultureInfo.InvariantCulture), r))];
    }

    private static StoredSlot FromSlotEntity(string stratumKey, int position, TableEntity row) => new(
        new ListSlot(stratumKey, position, row.GetInt32("Block") ?? 0, row.GetInt32("BlockSize") ?? 0, row.GetString("Arm") ?? string.Empty),
        row.GetString("ListId") ?? string.Empty,
        row.GetString("SubjectId"),
        row.Tag());

    /// <summary>Every slot of the active list, in stratum and position order (for export and checks; not on a per-subject path).</summary>
    public static async Task<IReadOnlyList<StoredSlot>> AllSlotsAsync(TableClient table, string studyId, string listId, CancellationToken ct)
    {
        var result = new List<StoredSlot>();
        await foreach (var row in table.QueryPrefixAsync(studyId, SlotPrefix, ct))
        {
            var rest = row.RowKey[SlotPrefix.Length..];
            var cut = rest.LastIndexOf('|');
            var slot = FromSlotEntity(rest[..cut], int.Parse(rest[(cut + 1)..], CultureInfo.InvariantCulture), row);
            if (slot.ListId == listId)
            {
                result.Add(slot);
            }
        }

        return result;
    }

    /// <summary>Marks a slot used by a subject, guarded by the ETag it was read with.</summary>
    public static TableTransactionAction UseSlot(string studyId, StoredSlot slot, string subjectId)
    {
        var e = Rows.New(studyId, SlotKey(slot.Slot.StratumKey, slot.Slot.Position));
        e.Set("SubjectId", subjectId);
        return new TableTransactionAction(TableTransactionActionType.UpdateMerge, e, new ETag(slot.ETag));
    }

    /// <summary>
    /// One upload at a time: a lock row (<c>list-staging</c>) whose ETag every chunk of slots and the activation must
    /// still hold. Taken when free, when held by the same list (a retried upload), or when older than
    /// <paramref name="lease"/>; otherwise refused with <c>list-already-active</c>. Returns the lock's ETag.
    /// </summary>
    public static async Task<Result<string>> TakeStagingLockAsync(TableClient table, string studyId, string listId, DateTimeOffset now, TimeSpan lease, CancellationToken ct) =>
        await LeaseRows.TakeAsync(table, studyId, StagingKey, listId, now, lease,
            new DomainError("list-already-active", "Another randomization list is being uploaded for this study; try again in a few minutes."), ct);

    /// <summary>
    /// Writes slots in transactions of 99 plus a touch of the staging row under its ETag, so an upload whose lock was
    /// taken over stops at once instead of overwriting the new upload's slots. Returns the lock's last ETag, or
    /// <c>list-already-active</c> when the lock was lost.
    /// </summary>
    public static async Task<Result<string>> WriteSlotsAsync(TableClient table, string studyId, string listId, IEnumerable<ListSlot> slots, string lockTag, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(slots);
        foreach (var chunk in slots.Chunk(StudyChange.MaxActions - 1))
        {
            var change = new StudyChange();
            change.AddRange(chunk.Select(s => new TableTransactionAction(TableTransactionActionType.UpsertReplace, SlotEntity(studyId, listId, s))));
            change.Add(new TableTransactionAction(TableTransactionActionType.UpdateMerge, Rows.New(studyId, StagingKey).Set("ListId", listId), new ETag(lockTag)));
            try
            {
                lockTag = (await change.SubmitAsync(table, ct))[^1];
            }
            catch (TableTransactionFailedException e) when (e.Status is 404 or 412)
            {
                return new DomainError("list-already-active", "Another upload took over this list's preparation; this one stopped.");
            }
        }

        return lockTag;
    }

    /// <summary>Activation: the <c>list</c> row inserted and the staging lock released under the ETag the upload held.</summary>
    public static IEnumerable<TableTransactionAction> Activate(string studyId, RandomizationList list, DateTimeOffset at, string userId, string lockTag, byte[] salt) =>
    [
        new(TableTransactionActionType.Add, ActiveEntity(studyId, list, at, userId, salt)),
        new(TableTransactionActionType.Delete, Rows.New(studyId, StagingKey), new ETag(lockTag)),
    ];

    public static async Task<Pointer> GetPointerAsync(TableClient table, string studyId, string stratumKey, CancellationToken ct)
    {
        var row = await table.GetRowAsync(studyId, PointerKey(stratumKey), ct);
        return row is null ? new Pointer(1, null) : PointerFrom(row);
    }

    public static Pointer PointerFrom(TableEntity row) => new(row.GetInt32("Next") ?? 1, row.Tag());

    /// <summary>
    /// Moves a stratum's pointer past the slots just used (<paramref name="used"/>, one unless several randomizations
    /// commit together); two randomizations cannot take the same slot.
    /// </summary>
    public static TableTransactionAction AdvancePointer(string studyId, string stratumKey, Pointer pointer, int used = 1)
    {
        ArgumentNullException.ThrowIfNull(pointer);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(used);
        var e = Rows.New(studyId, PointerKey(stratumKey));
        e.Set("Next", checked(pointer.Next + used));
        return pointer.ETag is null
            ? new TableTransactionAction(TableTransactionActionType.Add, e)
            : new TableTransactionAction(TableTransactionActionType.UpdateReplace, e, new ETag(pointer.ETag));
    }
}
