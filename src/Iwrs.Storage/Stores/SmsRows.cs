using System.Text.Json;
using Iwrs.Domain.Sms;
using Azure;
using Azure.Data.Tables;

namespace Iwrs.Storage.Stores;

/// <summary>A user's PIN row as read: the state and the ETag a change must match (null: no row yet).</summary>
public sealed record StoredPin(string UserId, PinState State, string? ETag);

/// <summary>A user's phone registration as read, with the ETag a change must match (null: no row yet).</summary>
public sealed record StoredPhone(string UserId, PhoneRegistration State, string? ETag);

/// <summary>A processed (or claimed) inbound message: the reply it got, once it has one, and when it was claimed.</summary>
public sealed record StoredSmsMessage(string MessageSid, string? Reply, DateTimeOffset ClaimedAt, string ETag);

/// <summary>
/// What the SMS door keeps, all in the system partition (none of it belongs to one study): per user the PIN and its
/// lockout (<c>sms-pin|{userId}</c>, changed in one transaction with its audit record in the system partition's
/// chain); per phone and code a pending confirmation (<c>sms-confirm|{phone}|{code}</c>, a point read: the confirming
/// message names no study); per MessageSid the reply sent (<c>sms-message|{sid}</c>, so a replayed webhook gets the
/// first reply and does nothing again); per phone an opt-out (<c>sms-optout|{phone}</c>); per user the phone they
/// registered and verified (<c>sms-phone|{userId}</c>); and per verified phone its owner (<c>sms-owner|{phone}</c>), the
/// index an inbound SMS is answered from with one point read. The owner row is inserted (never upserted) in the
/// verification's own transaction, beside the user's row and the audit record, so a phone has one owner at most.
/// </summary>
public static class SmsRows
{
    public const string PinPrefix = "sms-pin|";
    public const string ConfirmationPrefix = "sms-confirm|";
    public const string MessagePrefix = "sms-message|";
    public const string OptOutPrefix = "sms-optout|";
    public const string PhonePrefix = "sms-phone|";
    public const string OwnerPrefix = "sms-owner|";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private static string Partition => IwrsTable.SystemPartition;

    public static async Task<StoredPin> GetPinAsync(TableClient table, string userId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(table);
        var row = await table.GetRowAsync(Partition, PinPrefix + userId, ct);
        if (row is null)
        {
            return new StoredPin(userId, PinState.None, null);
        }

        var hash = row.GetBinary("Hash") is { } h && row.GetBinary("Salt") is { } salt && row.GetInt32("Iterations") is { } iterations
            ? new PinHash(salt, h, iterations)
            : null;
        return new StoredPin(userId, new PinState(hash, row.GetInt32("Failures") ?? 0, row.GetDateTimeOffset("LockedAt")), row.Tag());
    }

    /// <summary>Writes a PIN row: an insert when none was read, otherwise a replace If-Match on the row read.</summary>
    public static TableTransactionAction PutPin(StoredPin read, PinState state)
    {
        ArgumentNullException.ThrowIfNull(read);
        ArgumentNullException.ThrowIfNull(state);
        var e = Rows.New(Partition, PinPrefix + read.UserId);
        e.Set("UserId", read.UserId);
        if (state.Hash is { } hash)
        {
            e.Set("Hash", hash.Hash);
            e.Set("Salt", hash.Salt);
            e.Set("Iterations", hash.Iterations);
        }

        e.Set("Failures", state.Failures);
        e.Set("LockedAt", state.LockedAt);
        return InsertOrReplace(e, read.ETag);
    }

    public static async Task<StoredPhone> GetPhoneAsync(TableClient table, string userId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(table);
        var row = await table.GetRowAsync(Partition, PhonePrefix + userId, ct);
        if (row is null)
        {
            return new StoredPhone(userId, PhoneRegistration.None, null);
        }

        var pending = row.GetString("PendingPhone") is { } phone && row.GetBinary("PendingSalt") is { } salt && row.GetBinary("PendingHash") is { } hash
            ? new PendingPhone(phone, salt, hash, row.GetDateTimeOffset("PendingExpiresAt") ?? DateTimeOffset.MinValue, row.GetInt32("PendingAttempts") ?? 0)
            : null;
        return new StoredPhone(
            userId,
            new PhoneRegistration(row.GetString("Phone"), row.GetDateTimeOffset("VerifiedAt"), pending, row.GetInt32("CodesSent") ?? 0, row.GetDateTimeOffset("WindowStart")),
            row.Tag());
    }

    /// <summary>Writes a phone row: an insert when none was read, otherwise a replace If-Match on the row read.</summary>
    public static TableTransactionAction PutPhone(StoredPhone read, PhoneRegistration state)
    {
        ArgumentNullException.ThrowIfNull(read);
        ArgumentNullException.ThrowIfNull(state);
        var e = Rows.New(Partition, PhonePrefix + read.UserId);
        e.Set("UserId", read.UserId);
        e.Set("Phone", state.Phone);
        e.Set("VerifiedAt", state.VerifiedAt);
        e.Set("CodesSent", state.CodesSent);
        e.Set("WindowStart", state.WindowStart);
        if (state.Pending is { } p)
        {
            e.Set("PendingPhone", p.Phone);
            e.Set("PendingSalt", p.Salt);
            e.Set("PendingHash", p.CodeHash);
            e.Set("PendingExpiresAt", p.ExpiresAt);
            e.Set("PendingAttempts", p.Attempts);
        }

        return InsertOrReplace(e, read.ETag);
    }

    /// <summary>The user whose verified phone <paramref name="phone"/> is (one point read), or null.</summary>
    public static async Task<string?> GetOwnerAsync(TableClient table, string phone, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(table);
        return (await table.GetRowAsync(Partition, OwnerPrefix + phone, ct))?.GetString("UserId");
    }

    /// <summary>
    /// The phone <paramref name="userId"/> verified, while it is still theirs: their phone row names it as verified
    /// and its owner row names them (two point reads). Null otherwise: no phone, one removed or given up, or a number
    /// whose owner row now names someone else.
    /// </summary>
    public static async Task<string?> VerifiedPhoneAsync(TableClient table, string userId, CancellationToken ct)
    {
        var state = (await GetPhoneAsync(table, userId, ct)).State;
        return state is { Phone: { } phone, VerifiedAt: not null } && await GetOwnerAsync(table, phone, ct) == userId ? phone : null;
    }

    /// <summary>Makes <paramref name="userId"/> the owner of <paramref name="phone"/>: an insert, which fails (409) if it has one.</summary>
    public static TableTransactionAction AddOwner(string phone, string userId, DateTimeOffset at)
    {
        var e = Rows.New(Partition, OwnerPrefix + phone);
        e.Set("UserId", userId);
        e.Set("VerifiedAt", at);
        return new TableTransactionAction(TableTransactionActionType.Add, e);
    }

    /// <summary>Ends a phone's ownership (the user verified another one or gave it up).</summary>
    public static TableTransactionAction DeleteOwner(string phone) =>
        new(TableTransactionActionType.Delete, Rows.New(Partition, OwnerPrefix + phone), ETag.All);

    public static string ConfirmationKey(string phone, string code) => $"{ConfirmationPrefix}{phone}|{code}";

    public static async Task<(PendingConfirmation Pending, string ETag)?> GetConfirmationAsync(TableClient table, string phone, string code, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(table);
        var row = await table.GetRowAsync(Partition, ConfirmationKey(phone, code), ct);
        if (row is null)
        {
            return null;
        }

        var pending = new PendingConfirmation(
            code, row.GetString("Phone") ?? string.Empty, row.GetString("UserId") ?? string.Empty, row.GetString("StudyId") ?? string.Empty,
            row.GetString("SubjectId") ?? string.Empty, row.GetString("SiteId") ?? string.Empty,
            JsonSerializer.Deserialize<Dictionary<string, string>>(row.GetString("Factors") ?? "{}", Json) ?? [],
            row.GetDateTimeOffset("CreatedAt") ?? DateTimeOffset.MinValue, row.GetDateTimeOffset("ExpiresAt") ?? DateTimeOffset.MinValue, row.GetString("UsedBy"));
        return (pending, row.Tag());
    }

    /// <summary>Stores a new pending confirmation; false when this phone already has one under this code (draw another).</summary>
    public static async Task<bool> TryAddConfirmationAsync(TableClient table, PendingConfirmation pending, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(pending);
        try
        {
            await table.AddEntityAsync(ConfirmationEntity(pending), ct);
            return true;
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            return false;
        }
    }

    /// <summary>
    /// Marks a confirmation used by <paramref name="messageSid"/>, If-Match on the row read: of two confirmations at
    /// once, one wins and the other finds it used. False when the row changed since it was read.
    /// </summary>
    public static async Task<bool> TryUseConfirmationAsync(TableClient table, PendingConfirmation pending, string etag, string messageSid, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(pending);
        try
        {
            await table.UpdateEntityAsync(ConfirmationEntity(pending with { UsedBy = messageSid }), new ETag(etag), TableUpdateMode.Replace, ct);
            return true;
        }
        catch (RequestFailedException e) when (e.Status is 404 or 412)
        {
            return false;
        }
    }

    /// <summary>
    /// Claims a MessageSid for processing by inserting its row. Null when this call claimed it; otherwise the row
    /// another delivery of the same message left (with its reply once it has one).
    /// </summary>
    public static async Task<StoredSmsMessage?> TryClaimMessageAsync(TableClient table, string messageSid, DateTimeOffset now, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(table);
        var e = Rows.New(Partition, MessagePrefix + messageSid);
        e.Set("ClaimedAt", now);
        try
        {
            await table.AddEntityAsync(e, ct);
            return null;
        }
        catch (RequestFailedException x) when (x.Status == 409)
        {
            var row = await table.GetRowAsync(Partition, MessagePrefix + messageSid, ct);
            return row is null
                ? throw new ConcurrentChangeException($"Message {messageSid} was claimed and is gone.")
                : new StoredSmsMessage(messageSid, row.GetString("Reply"), row.GetDateTimeOffset("ClaimedAt") ?? DateTimeOffset.MinValue, row.Tag());
        }
    }

    /// <summary>Takes over a claim whose processing never finished (If-Match): false when another delivery took it first.</summary>
    public static async Task<bool> TryTakeOverMessageAsync(TableClient table, StoredSmsMessage stale, DateTimeOffset now, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(stale);
        var e = Rows.New(Partition, MessagePrefix + stale.MessageSid);
        e.Set("ClaimedAt", now);
        try
        {
            await table.UpdateEntityAsync(e, new ETag(stale.ETag), TableUpdateMode.Replace, ct);
            return true;
        }
        catch (RequestFailedException x) when (x.Status is 404 or 412)
        {
            return false;
        }
    }

    /// <summary>Records the reply a claimed message got, which every replay of it is answered with.</summary>
    public static async Task CompleteMessageAsync(TableClient table, string messageSid, string reply, DateTimeOffset claimedAt, DateTimeOffset now, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(table);
        var e = Rows.New(Partition, MessagePrefix + messageSid);
        e.Set("ClaimedAt", claimedAt);
        e.Set("Reply", reply);
        e.Set("RepliedAt", now);
        await table.UpsertEntityAsync(e, TableUpdateMode.Replace, ct);
    }

    public static async Task<bool> IsOptedOutAsync(TableClient table, string phone, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(table);
        return await table.GetRowAsync(Partition, OptOutPrefix + phone, ct) is not null;
    }

    /// <summary>Records an opt-out (STOP) or removes it (START); either is idempotent.</summary>
    public static async Task SetOptOutAsync(TableClient table, string phone, bool optedOut, string keyword, DateTimeOffset now, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(table);
        if (optedOut)
        {
            var e = Rows.New(Partition, OptOutPrefix + phone);
            e.Set("Keyword", keyword);
            e.Set("At", now);
            await table.UpsertEntityAsync(e, TableUpdateMode.Replace, ct);
        }
        else
        {
            await table.DeleteEntityAsync(Partition, OptOutPrefix + phone, ETag.All, ct);
        }
    }

    /// <summary>An insert when no row was read (<paramref name="etag"/> null), otherwise a replace If-Match on the row read.</summary>
    private static TableTransactionAction InsertOrReplace(TableEntity e, string? etag) => etag is null
        ? new TableTransactionAction(TableTransactionActionType.Add, e)
        : new TableTransactionAction(TableTransactionActionType.UpdateReplace, e, new ETag(etag));

    private static TableEntity ConfirmationEntity(PendingConfirmation p)
    {
        var e = Rows.New(Partition, ConfirmationKey(p.Phone, p.Code));
        e.Set("Phone", p.Phone);
        e.Set("UserId", p.UserId);
        e.Set("StudyId", p.StudyId);
        e.Set("SubjectId", p.SubjectId);
        e.Set("SiteId", p.SiteId);
        e.Set("Factors", JsonSerializer.Serialize(p.Factors, Json));
        e.Set("CreatedAt", p.CreatedAt);
        e.Set("ExpiresAt", p.ExpiresAt);
        e.Set("UsedBy", p.UsedBy);
        return e;
    }
}

/// <summary>
/// Twilio's delivery reports for one outbound message: <c>outbox-state|{id}</c> beside its outbox record, in the
/// same partition. A row of its own so that a report never touches the record the dispatcher guards with its
/// ETag (a report arriving mid-send would otherwise make the dispatcher lose its claim and send again).
/// </summary>
public static class DeliveryReportRows
{
    public const string Prefix = "outbox-state|";

    public sealed record Report(DeliveryState State, string ProviderMessageId, string? ErrorCode, DateTimeOffset UpdatedAt);

    public static async Task<Report?> GetAsync(TableClient table, string partition, string notificationId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(table);
        var row = await table.GetRowAsync(partition, Prefix + notificationId, ct);
        return row is null ? null : FromEntity(row);
    }

    /// <summary>The reports of the messages <paramref name="firstId"/> to <paramref name="lastId"/> (ids in key order), by id: one range read.</summary>
    public static async Task<IReadOnlyDictionary<string, Report>> RangeAsync(TableClient table, string partition, string firstId, string lastId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(table);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey ge {Prefix + firstId} and RowKey le {Prefix + lastId}");
        var reports = new Dictionary<string, Report>(StringComparer.Ordinal);
        await foreach (var row in table.QueryAsync<TableEntity>(filter, cancellationToken: ct))
        {
            reports[row.RowKey[Prefix.Length..]] = FromEntity(row);
        }

        return reports;
    }

    /// <summary>
    /// Applies a report when it moves the message forward (<see cref="DeliveryReports.Advances"/>), If-Match on what
    /// was read; an older or repeated report changes nothing. Returns the state now stored.
    /// </summary>
    public static Task<Domain.Result<Report>> ApplyAsync(
        TableClient table, TimeProvider time, string partition, string notificationId, Report report, CancellationToken ct) =>
        OptimisticWrite.RunAsync(time, async attemptCt =>
        {
            var row = await table.GetRowAsync(partition, Prefix + notificationId, attemptCt);
            var current = row is null ? null : FromEntity(row);
            if (!DeliveryReports.Advances(current?.State, report.State))
            {
                return Domain.Result<Report>.Ok(current!);
            }

            var e = Rows.New(partition, Prefix + notificationId);
            e.Set("State", DeliveryReports.Name(report.State));
            e.Set("ProviderMessageId", report.ProviderMessageId);
            e.Set("ErrorCode", report.ErrorCode);
            e.Set("UpdatedAt", report.UpdatedAt);
            var action = row is null
                ? new TableTransactionAction(TableTransactionActionType.Add, e)
                : new TableTransactionAction(TableTransactionActionType.UpdateReplace, e, row.ETag);
            await new StudyChange { action }.SubmitAsync(table, attemptCt);
            return Domain.Result<Report>.Ok(report);
        }, ct);

    private static Report FromEntity(TableEntity row) => new(
        DeliveryReports.TryParse(row.GetString("State"), out var state) ? state : DeliveryState.Queued,
        row.GetString("ProviderMessageId") ?? string.Empty,
        row.GetString("ErrorCode"),
        row.GetDateTimeOffset("UpdatedAt") ?? DateTimeOffset.MinValue);
}
