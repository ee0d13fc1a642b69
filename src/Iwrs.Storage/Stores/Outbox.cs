using System.Globalization;
using Iwrs.Domain;
using Iwrs.Domain.Access;
using Iwrs.Domain.Notifications;
using Iwrs.Domain.Sms;
using Azure;
using Azure.Data.Tables;

namespace Iwrs.Storage.Stores;

/// <summary>One outgoing message as stored: the notification, where its delivery stands, and the ETag a change must match.</summary>
public sealed record OutboxRecord(
    string Partition,
    Notification Notification,
    DeliveryStatus Status,
    int Attempts,
    DateTimeOffset CreatedAt,
    DateTimeOffset? NextAttemptAt,
    DateTimeOffset? LastAttemptAt,
    string? ErrorCode,
    string? LastError,
    string? Provider,
    string? ProviderMessageId,
    DateTimeOffset? SentAt,
    DateTimeOffset? FailedAt,
    string ETag);

/// <summary>A due-index row: the message <paramref name="NotificationId"/> is to be (re)tried at <paramref name="DueAt"/>.</summary>
/// <param name="Partition">The study (or system) partition the message and its due row live in.</param>
/// <param name="RowKey"><c>outbox-due|{DueAt:yyyyMMddHHmmssfff}|{NotificationId}</c>.</param>
/// <param name="NotificationId">The message's id, also the last segment of the key.</param>
/// <param name="DueAt">When the message is due, to the millisecond.</param>
/// <param name="ETag">What a claim's delete must match, so two dispatchers cannot both claim this row.</param>
public sealed record OutboxDueRow(string Partition, string RowKey, string NotificationId, DateTimeOffset DueAt, string ETag);

/// <summary>A claimed message: the record as the claim left it (Status Sending, new ETag) and the lease's due row.</summary>
public sealed record OutboxClaim(OutboxRecord Record, string LeaseRowKey);

/// <summary>
/// The transactional outbox. An event's own transaction adds its notifications (<see cref="Add"/>), so none is lost and
/// none exists without its event. Each message is two rows in the event's partition:
/// <list type="bullet">
/// <item><c>outbox|{Id}</c>, the record: the message (with the recipient's role, absent on records older than it) and its delivery state (Status, Attempts, LastError,
/// ProviderMessageId, SentAt…). Kept after delivery as the delivery log; its insert is what makes a retried event fail
/// with 409 instead of enqueuing twice.</item>
/// <item><c>outbox-due|{yyyyMMddHHmmssfff}|{Id}</c>, the due index: one row per message that still has to be (re)tried,
/// keyed by time so that "what is due now" is one bounded range read, never a scan of every message ever sent.</item>
/// </list>
/// A dispatcher claims a message (<see cref="TryClaimAsync"/>: the due row is swapped for a lease row a few minutes
/// ahead and the record marked Sending, both under If-Match), sends it, then records the result
/// (<see cref="TryCompleteAsync"/>). If it dies in between, the lease row comes due and another run takes the message
/// over: a message sent just before such a crash is sent again. That, and a send that timed out after the provider had
/// accepted it, are the only ways to a duplicate SMS.
/// </summary>
public static class Outbox
{
    public const string RecordPrefix = "outbox|";

    /// <summary>'-' sorts before '|', so due rows and records are disjoint key ranges.</summary>
    public const string DuePrefix = "outbox-due|";

    /// <summary>Fixed width, so key order is time order (UTC).</summary>
    public const string DueTimeFormat = "yyyyMMddHHmmssfff";

    public static string RecordKey(string notificationId) => RecordPrefix + notificationId;

    public static string DueKey(DateTimeOffset dueAt, string notificationId) => DuePrefix + Stamp(dueAt) + "|" + notificationId;

    /// <summary>
    /// Adds the record insert and its due row (due at <paramref name="now"/>) to an event's transaction, which must
    /// be on <paramref name="partition"/>. If a record with this id exists, the whole transaction fails with 409
    /// (EntityAlreadyExists): the event was already applied, with its notification.
    /// </summary>
    public static void Add(StudyChange actions, string partition, Notification n, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(actions);
        ArgumentNullException.ThrowIfNull(n);
        if (!Identifiers.IsValid(n.Id, Notification.MaxIdLength))
        {
            throw new ArgumentException("The notification id is not a valid key; build notifications with Notification.Create.", nameof(n));
        }

        var record = new OutboxRecord(
            partition, n, DeliveryStatus.Pending, 0, now, now, null, null, null, null, null, null, null, ETag: string.Empty);
        actions.Add(new TableTransactionAction(TableTransactionActionType.Add, ToEntity(record)));
        actions.Add(new TableTransactionAction(TableTransactionActionType.Add, DueEntity(partition, now, n.Id)));
    }

    /// <summary>
    /// Up to <paramref name="top"/> records of one partition with ids after <paramref name="afterId"/> (null: from the
    /// first), in id order, which is the order of the audit sequences the ids start with: one bounded range read.
    /// </summary>
    public static async Task<IReadOnlyList<OutboxRecord>> PageAsync(TableClient table, string partition, string? afterId, int top, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentOutOfRangeException.ThrowIfLessThan(top, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(top, Rows.MaxPageSize);
        var from = afterId is null ? RecordPrefix : RecordKey(afterId);
        var upper = RecordPrefix[..^1] + (char)(RecordPrefix[^1] + 1);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey gt {from} and RowKey lt {upper}");
        return [.. (await table.FirstAsync(filter, top, ct)).Select(FromEntity)];
    }

    /// <summary>
    /// Up to <paramref name="top"/> due rows of one partition, oldest first: the range
    /// <c>outbox-due|</c> ≤ RowKey &lt; <c>outbox-due|{now + 1 ms}</c>.
    /// </summary>
    public static async Task<IReadOnlyList<OutboxDueRow>> ReadDueAsync(TableClient table, string partition, DateTimeOffset now, int top, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentOutOfRangeException.ThrowIfLessThan(top, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(top, Rows.MaxPageSize);
        var upper = DuePrefix + Stamp(now.AddMilliseconds(1));
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey ge {DuePrefix} and RowKey lt {upper}");
        var rows = new List<OutboxDueRow>();
        foreach (var row in await table.FirstAsync(filter, top, ct))
        {
            rows.Add(new OutboxDueRow(
                row.PartitionKey,
                row.RowKey,
                row.GetString("NotificationId") ?? row.RowKey[(row.RowKey.LastIndexOf('|') + 1)..],
                row.GetDateTimeOffset("DueAt") ?? DateTimeOffset.MinValue,
                row.ETag == default ? throw new InvalidDataException($"Due row {row.RowKey} came back without an ETag.") : row.Tag()));
        }

        return rows;
    }

    public static async Task<OutboxRecord?> GetAsync(TableClient table, string partition, string notificationId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(table);
        var row = await table.GetRowAsync(partition, RecordKey(notificationId), ct);
        return row is null ? null : FromEntity(row);
    }

    /// <summary>
    /// Claims a due message for one send, in one transaction: delete <paramref name="due"/> (If-Match), insert a lease
    /// due row at <paramref name="leaseUntil"/>, and replace the record with Status Sending (If-Match on
    /// <paramref name="record"/>). Null when another dispatcher got there first (404, 409 or 412): it owns the message.
    /// </summary>
    public static async Task<OutboxClaim?> TryClaimAsync(
        TableClient table, OutboxDueRow due, OutboxRecord record, DateTimeOffset now, DateTimeOffset leaseUntil, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(due);
        ArgumentNullException.ThrowIfNull(record);
        var claimed = record with { Status = DeliveryStatus.Sending, NextAttemptAt = leaseUntil, LastAttemptAt = now };
        var lease = DueEntity(due.Partition, leaseUntil, due.NotificationId);
        if (lease.RowKey == due.RowKey)
        {
            throw new ArgumentException("The lease must end after the due time.", nameof(leaseUntil));
        }

        var actions = new StudyChange
        {
            new(TableTransactionActionType.Delete, Rows.New(due.Partition, due.RowKey), new ETag(due.ETag)),
            new(TableTransactionActionType.Add, lease),
            new(TableTransactionActionType.UpdateReplace, ToEntity(claimed), new ETag(record.ETag)),
        };
        try
        {
            var etags = await actions.SubmitAsync(table, ct);
            return new OutboxClaim(claimed with { ETag = etags[2] }, lease.RowKey);
        }
        catch (TableTransactionFailedException e) when (e.Status is 404 or 409 or 412)
        {
            return null;
        }
    }

    /// <summary>
    /// Records the outcome of a claimed send in one transaction: the record replaced with <paramref name="decision"/>'s
    /// state (If-Match on the claim), the lease row deleted, and, for a retry, a due row at the next attempt. False
    /// when the claim was lost (the lease ran out and another dispatcher took the message over).
    /// </summary>
    public static async Task<bool> TryCompleteAsync(
        TableClient table, OutboxClaim claim, DeliveryDecision decision, string provider, DateTimeOffset now, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(claim);
        ArgumentNullException.ThrowIfNull(decision);
        var before = claim.Record;
        var after = before with
        {
            Status = decision.Status,
            Attempts = decision.Attempts,
            NextAttemptAt = decision.NextAttemptAt,
            ErrorCode = decision.ErrorCode ?? (decision.Status == DeliveryStatus.Sent ? null : before.ErrorCode),
            LastError = decision.LastError ?? (decision.Status == DeliveryStatus.Sent ? null : before.LastError),
            Provider = provider,
            ProviderMessageId = decision.ProviderMessageId ?? before.ProviderMessageId,
            SentAt = decision.Status == DeliveryStatus.Sent ? now : before.SentAt,
            FailedAt = decision.Status == DeliveryStatus.Failed ? now : before.FailedAt,
        };

        var actions = new StudyChange
        {
            new(TableTransactionActionType.UpdateReplace, ToEntity(after), new ETag(before.ETag)),
        };
        var next = decision is { Status: DeliveryStatus.Pending, NextAttemptAt: { } at } ? DueEntity(before.Partition, at, before.Notification.Id) : null;
        if (next?.RowKey != claim.LeaseRowKey)
        {
            // The lease row is ours while the record's ETag is the claim's: that If-Match guards both.
            actions.Add(new(TableTransactionActionType.Delete, Rows.New(before.Partition, claim.LeaseRowKey), ETag.All));
            if (next is not null)
            {
                actions.Add(new(TableTransactionActionType.Add, next));
            }
        }

        try
        {
            await actions.SubmitAsync(table, ct);
            return true;
        }
        catch (TableTransactionFailedException e) when (e.Status is 404 or 412)
        {
            return false;
        }
    }

    /// <summary>Removes a due row whose record is gone or already final (If-Match: only the row as it was read).</summary>
    public static TableTransactionAction DeleteDue(OutboxDueRow due) =>
        new(TableTransactionActionType.Delete, Rows.New(due.Partition, due.RowKey), new ETag(due.ETag));

    /// <summary>
    /// Deletes a stale due row (<see cref="DeleteDue"/>). True when this call removed it; false when someone else had
    /// already removed or replaced it.
    /// </summary>
    public static async Task<bool> TryDeleteDueAsync(TableClient table, OutboxDueRow due, CancellationToken ct)
    {
        try
        {
            await new StudyChange { DeleteDue(due) }.SubmitAsync(table, ct);
            return true;
        }
        catch (TableTransactionFailedException e) when (e.Status is 404 or 412)
        {
            return false;
        }
    }

    public static TableEntity ToEntity(OutboxRecord r)
    {
        var e = Rows.New(r.Partition, RecordKey(r.Notification.Id));
        e.Set("NotificationId", r.Notification.Id);
        e.Set("RecipientUserId", r.Notification.RecipientUserId);
        e.Set("Address", r.Notification.ToVerifiedPhone ? AddressOwnPhone : AddressNumber);
        e.Set("To", r.Notification.To);
        e.Set("Body", r.Notification.Body);
        e.Set("Event", r.Notification.Event);
        e.Set("RecipientRole", r.Notification.RecipientRole?.Name());
        e.Set("CreatedAt", r.CreatedAt);
        e.Set("Status", StatusName(r.Status));
        e.Set("Attempts", r.Attempts);
        e.Set("NextAttemptAt", r.NextAttemptAt);
        e.Set("LastAttemptAt", r.LastAttemptAt);
        e.Set("ErrorCode", r.ErrorCode);
        e.Set("LastError", r.LastError);
        e.Set("Provider", r.Provider);
        e.Set("ProviderMessageId", r.ProviderMessageId);
        e.Set("SentAt", r.SentAt);
        e.Set("FailedAt", r.FailedAt);
        return e;
    }

    public static OutboxRecord FromEntity(TableEntity e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var id = e.GetString("NotificationId") ?? e.RowKey[RecordPrefix.Length..];
        // RecipientRole came later: a record written before it, or with a role this version does not know, reads as unknown.
        var @event = e.GetString("Event") ?? string.Empty;
        var notification = new Notification(
            id, e.GetString("RecipientUserId") ?? string.Empty, NumberOf(e, @event), e.GetString("Body") ?? string.Empty, @event,
            Roles.TryParse(e.GetString("RecipientRole"), out var role) ? role : null);
        return new OutboxRecord(
            e.PartitionKey,
            notification,
            ParseStatus(e.GetString("Status")),
            e.GetInt32("Attempts") ?? 0,
            e.GetDateTimeOffset("CreatedAt") ?? DateTimeOffset.MinValue,
            e.GetDateTimeOffset("NextAttemptAt"),
            e.GetDateTimeOffset("LastAttemptAt"),
            e.GetString("ErrorCode"),
            e.GetString("LastError"),
            e.GetString("Provider"),
            e.GetString("ProviderMessageId"),
            e.GetDateTimeOffset("SentAt"),
            e.GetDateTimeOffset("FailedAt"),
            e.Tag());
    }

    /// <summary>The record's <c>Address</c>: sent to its <c>To</c> number (the phone verification code only).</summary>
    public const string AddressNumber = "number";

    /// <summary>The record's <c>Address</c>: sent to the recipient's own verified phone, looked up when it is sent.</summary>
    public const string AddressOwnPhone = "own-phone";

    /// <summary>
    /// The number a record is addressed to, or null for its recipient's own verified phone. Records from before
    /// <c>Address</c> existed carried the phone of a role grant in <c>To</c>, which anyone granting could set: those
    /// are read as addressed to the recipient's verified phone, except the verification code, whose number is its point.
    /// </summary>
    private static string? NumberOf(TableEntity e, string @event) => e.GetString("Address") switch
    {
        AddressNumber => e.GetString("To") ?? string.Empty,
        null when @event == PhoneVerification.CodeEvent => e.GetString("To") ?? string.Empty,
        _ => null,
    };

    public static string StatusName(DeliveryStatus status) => status switch
    {
        DeliveryStatus.Pending => "pending",
        DeliveryStatus.Sending => "sending",
        DeliveryStatus.Sent => "sent",
        DeliveryStatus.Failed => "failed",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "Unknown delivery status."),
    };

    private static DeliveryStatus ParseStatus(string? name) => name switch
    {
        "pending" => DeliveryStatus.Pending,
        "sending" => DeliveryStatus.Sending,
        "sent" => DeliveryStatus.Sent,
        "failed" => DeliveryStatus.Failed,
        _ => throw new InvalidDataException($"Unknown outbox status '{name}'."),
    };

    private static TableEntity DueEntity(string partition, DateTimeOffset dueAt, string notificationId)
    {
        var e = Rows.New(partition, DueKey(dueAt, notificationId));
        e.Set("NotificationId", notificationId);
        e.Set("DueAt", dueAt);
        return e;
    }

    private static string Stamp(DateTimeOffset at) => at.UtcDateTime.ToString(DueTimeFormat, CultureInfo.InvariantCulture);
}
