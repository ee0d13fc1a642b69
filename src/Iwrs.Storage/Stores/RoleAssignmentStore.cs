using Iwrs.Domain.Access;
using Azure;
using Azure.Data.Tables;

namespace Iwrs.Storage.Stores;

/// <summary>A role assignment as stored, with who granted it and the ETag a revoke must match.</summary>
/// <remarks>
/// Rows written by earlier versions may hold a <c>Phone</c> (where that role's notices went, set by whoever granted).
/// It is read by nobody: notices go only to the phone the user verified themselves (<see cref="SmsRows.VerifiedPhoneAsync"/>).
/// </remarks>
public sealed record StoredRoleAssignment(RoleAssignment Assignment, string GrantedBy, DateTimeOffset GrantedAt, string ETag);

/// <summary>An <see cref="UnblindedHistory"/> as stored, with the ETag the next change to it must match.</summary>
public sealed record StoredUnblindedHistory(UnblindedHistory History, string ETag);

/// <summary>
/// Role assignments live in the partition of the study they apply to (administrators in the system
/// partition), keyed <c>role|{userId}|{role}|{siteId or *}</c>: one caller's roles in one study are a single
/// bounded range read, and a grant and its audit record are one transaction. Beside them, <c>unblinded|{userId}</c>:
/// the user's <see cref="UnblindedHistory"/> in the study, written in the transaction of every unblinded grant there and
/// deleted by nothing (a revoke leaves it); an administrator's is in the system partition, beside the role.
/// </summary>
public sealed class RoleAssignmentStore(IwrsTable table)
{
    public const string Prefix = "role|";

    public static string Partition(RoleAssignment a) => a.StudyId ?? IwrsTable.SystemPartition;

    public static string RowKey(RoleAssignment a) => $"{Prefix}{a.UserId}|{a.Role.Name()}|{a.SiteId ?? "*"}";

    /// <summary>The roles <paramref name="userId"/> holds in <paramref name="studyId"/> (null: system roles).</summary>
    public async Task<IReadOnlyList<StoredRoleAssignment>> ForUserAsync(string? studyId, string userId, CancellationToken ct) =>
        await QueryAsync(studyId ?? IwrsTable.SystemPartition, $"{Prefix}{userId}|", ct);

    /// <summary>
    /// Whether <paramref name="userId"/> is an administrator: one point read of the row that grant writes. A user id no
    /// grant could name holds no role.
    /// </summary>
    public async Task<bool> IsAdministratorAsync(string userId, CancellationToken ct) =>
        RoleAssignment.Create(userId, Role.Administrator.Name(), null, null) is { IsSuccess: true } grant
        && await GetAsync(grant.Value, ct) is not null;

    /// <summary>Everyone's roles in one study (null: administrators).</summary>
    public async Task<IReadOnlyList<StoredRoleAssignment>> AllAsync(string? studyId, CancellationToken ct) =>
        await QueryAsync(studyId ?? IwrsTable.SystemPartition, Prefix, ct);

    /// <summary>
    /// The roles <paramref name="userId"/> holds in every study (null: everyone's roles in every study). One range read
    /// per study, for the rare acts that look across studies: making someone administrator, listing role conflicts.
    /// </summary>
    public async Task<IReadOnlyList<StoredRoleAssignment>> InEveryStudyAsync(string? userId, CancellationToken ct)
    {
        var client = await table.GetAsync(ct);
        var result = new List<StoredRoleAssignment>();
        foreach (var partition in await StudyStore.PartitionsAsync(client, ct))
        {
            if (partition != IwrsTable.SystemPartition)
            {
                result.AddRange(await QueryAsync(partition, userId is null ? Prefix : $"{Prefix}{userId}|", ct));
            }
        }

        return result;
    }

    /// <summary>
    /// The studies whose partition may hold roles of <paramref name="userId"/>: the index rows
    /// <c>user-study|{userId}|{studyId}</c> in the system partition, one range read. A grant writes its row before the
    /// grant itself (<see cref="IndexStudyAsync"/>), so every study a user holds a role in is listed; a row may outlive
    /// the roles (a failed grant, a revoke), so a reader still reads the user's roles in the study it picks.
    /// </summary>
    public async Task<IReadOnlyList<string>> StudiesOfAsync(string userId, CancellationToken ct)
    {
        var client = await table.GetAsync(ct);
        var studies = new List<string>();
        await foreach (var row in client.QueryPrefixAsync(IwrsTable.SystemPartition, $"{StudyIndexPrefix}{userId}|", ct))
        {
            if (row.GetString("StudyId") is { } studyId)
            {
                studies.Add(studyId);
            }
        }

        return studies;
    }

    public const string StudyIndexPrefix = "user-study|";

    /// <summary>The index row that lists <paramref name="studyId"/> among <paramref name="userId"/>'s studies; an upsert, so writing it again does nothing.</summary>
    public static TableTransactionAction IndexStudy(string userId, string studyId)
    {
        var e = Rows.New(IwrsTable.SystemPartition, $"{StudyIndexPrefix}{userId}|{studyId}");
        e.Set("UserId", userId);
        e.Set("StudyId", studyId);
        return new TableTransactionAction(TableTransactionActionType.UpsertReplace, e);
    }

    /// <summary>Writes <see cref="IndexStudy"/> on its own: before a grant's transaction, which is in the study's partition.</summary>
    public async Task IndexStudyAsync(string userId, string studyId, CancellationToken ct)
    {
        var client = await table.GetAsync(ct);
        await client.UpsertEntityAsync(IndexStudy(userId, studyId).Entity, TableUpdateMode.Replace, ct);
    }

    public const string HistoryPrefix = "unblinded|";

    public static string HistoryKey(string userId) => HistoryPrefix + userId;

    /// <summary>
    /// <paramref name="userId"/>'s unblinded history in <paramref name="studyId"/> (<see cref="UnblindedHistory.AllStudies"/>:
    /// as administrator, in the system partition): one point read; null when they were never unblinded there.
    /// </summary>
    public async Task<StoredUnblindedHistory?> HistoryAsync(string studyId, string userId, CancellationToken ct)
    {
        var client = await table.GetAsync(ct);
        var row = await client.GetRowAsync(HistoryPartition(studyId), HistoryKey(userId), ct);
        return row is null ? null : HistoryFrom(row);
    }

    /// <summary>Every unblinded history in every study and every administrator's (listing role conflicts): one range read per partition.</summary>
    public async Task<IReadOnlyList<UnblindedHistory>> HistoriesInEveryStudyAsync(CancellationToken ct)
    {
        var client = await table.GetAsync(ct);
        var result = new List<UnblindedHistory>();
        foreach (var partition in (await StudyStore.PartitionsAsync(client, ct)).Append(IwrsTable.SystemPartition).Distinct(StringComparer.Ordinal))
        {
            await foreach (var row in client.QueryPrefixAsync(partition, HistoryPrefix, ct))
            {
                result.Add(HistoryFrom(row).History);
            }
        }

        return result;
    }

    /// <summary>Where a history is kept: its study's partition, or the system partition for an administrator's.</summary>
    private static string HistoryPartition(string studyId) => studyId == UnblindedHistory.AllStudies ? IwrsTable.SystemPartition : studyId;

    /// <summary>
    /// Writes <paramref name="history"/>: an insert when there was none (<paramref name="etag"/> null), otherwise a
    /// replace under the ETag it was read with, so it goes in the grant's transaction and fails it if changed meanwhile.
    /// </summary>
    public static TableTransactionAction WriteHistory(UnblindedHistory history, string? etag)
    {
        ArgumentNullException.ThrowIfNull(history);
        var e = Rows.New(HistoryPartition(history.StudyId), HistoryKey(history.UserId));
        e.Set("UserId", history.UserId);
        e.Set("Roles", string.Join(",", history.Roles.Select(r => r.Name())));
        e.Set("FirstGrantedBy", history.FirstGrantedBy);
        e.Set("FirstGrantedAt", history.FirstGrantedAt);
        return etag is null
            ? new TableTransactionAction(TableTransactionActionType.Add, e)
            : new TableTransactionAction(TableTransactionActionType.UpdateReplace, e, new ETag(etag));
    }

    private static StoredUnblindedHistory HistoryFrom(TableEntity row)
    {
        var roles = (row.GetString("Roles") ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(n => Roles.TryParse(n, out var r) ? r : (Role?)null).OfType<Role>().ToList();
        var history = new UnblindedHistory(
            row.GetString("UserId") ?? row.RowKey[HistoryPrefix.Length..], row.PartitionKey == IwrsTable.SystemPartition ? UnblindedHistory.AllStudies : row.PartitionKey, roles,
            row.GetString("FirstGrantedBy") ?? string.Empty, row.GetDateTimeOffset("FirstGrantedAt") ?? DateTimeOffset.MinValue);
        return new StoredUnblindedHistory(history, row.Tag());
    }

    public async Task<StoredRoleAssignment?> GetAsync(RoleAssignment a, CancellationToken ct)
    {
        var client = await table.GetAsync(ct);
        var row = await client.GetRowAsync(Partition(a), RowKey(a), ct);
        return row is null ? null : FromEntity(row);
    }

    public static TableTransactionAction Insert(RoleAssignment a, string grantedBy, DateTimeOffset at)
    {
        var e = Rows.New(Partition(a), RowKey(a));
        e.Set("UserId", a.UserId);
        e.Set("Role", a.Role.Name());
        if (a.SiteId is not null)
        {
            e.Set("SiteId", a.SiteId);
        }

        e.Set("GrantedBy", grantedBy);
        e.Set("GrantedAt", at);
        return new TableTransactionAction(TableTransactionActionType.Add, e);
    }

    public static TableTransactionAction Delete(StoredRoleAssignment stored) =>
        new(TableTransactionActionType.Delete, Rows.New(Partition(stored.Assignment), RowKey(stored.Assignment)), new ETag(stored.ETag));

    private async Task<IReadOnlyList<StoredRoleAssignment>> QueryAsync(string partition, string prefix, CancellationToken ct)
    {
        var client = await table.GetAsync(ct);
        var result = new List<StoredRoleAssignment>();
        await foreach (var row in client.QueryPrefixAsync(partition, prefix, ct))
        {
            if (FromEntity(row) is { } assignment)
            {
                result.Add(assignment);
            }
        }

        return result;
    }

    private static StoredRoleAssignment? FromEntity(TableEntity row)
    {
        if (!Roles.TryParse(row.GetString("Role"), out var role))
        {
            return null;
        }

        var studyId = row.PartitionKey == IwrsTable.SystemPartition ? null : row.PartitionKey;
        var assignment = new RoleAssignment(row.GetString("UserId") ?? string.Empty, role, studyId, row.GetString("SiteId"));
        return new StoredRoleAssignment(assignment, row.GetString("GrantedBy") ?? string.Empty, row.GetDateTimeOffset("GrantedAt") ?? DateTimeOffset.MinValue, row.Tag());
    }
}
