using System.Security.Cryptography;
using Iwrs.Domain.Access;
using Iwrs.Domain.Notifications;
using Iwrs.Functions.Hosting;
using Iwrs.Storage.Stores;
using Azure.Data.Tables;
using Iwrs.Storage;
using Microsoft.Extensions.Options;

namespace Iwrs.Functions.Notifications;

/// <summary>
/// The outbox dispatcher, a timer function (every 30 s by default; app setting <c>NotificationSchedule</c>). Each run
/// walks every study partition and the system partition, reads the messages that are due (a bounded range read on the
/// due index), and for each one: claims it (due row swapped for a lease row, record marked Sending, both under
/// If-Match, so two app instances never send the same message), sends it, and records the outcome in one transaction:
/// Sent (with Twilio's sid), Pending again with a backoff due row (30 s … 1 h, jittered), or Failed. At most
/// <see cref="NotificationOptions.MaxPerRun"/> messages per run; the rest wait for the next run.
/// </summary>
/// <remarks>
/// Duplicates: a run that dies after Twilio accepted a message but before recording it leaves the lease to run out
/// (<see cref="NotificationOptions.Lease"/>), and a later run sends the message again. The same happens when Twilio
/// takes a message but its answer is lost (timeout). Those are the only duplicate windows; every other path sends at
/// most once. Messages are sent one at a time: trial SMS volume is low, and it keeps a run's storage and Twilio load flat.
/// Log lines name a message by partition, id and the recipient's role, never by its text or number.
/// </remarks>
public sealed class NotificationDispatch(
    IwrsTable table,
    RoleAssignmentStore roles,
    ISmsSender sender,
    TimeProvider time,
    IOptions<NotificationOptions> options,
    ILogger<NotificationDispatch> log)
{
    public const string FunctionName = "NotificationDispatch";

    /// <summary>The error code on a message not sent because its recipient opted out.</summary>
    public const string OptedOutCode = "opted-out";

    /// <summary>The error code on a notice not sent because its recipient has no verified SMS phone.</summary>
    public const string NoVerifiedPhoneCode = "no-verified-phone";

    /// <summary>The error code on a notice not sent because its recipient no longer holds the role it was for.</summary>
    public const string RoleNotHeldCode = "recipient-no-longer-holds-role";

    private readonly Lock _gate = new();
    private (IReadOnlyList<string> Partitions, DateTimeOffset ReadAt)? _studies;

    public async Task<IReadOnlyList<string>> RunAsync(TimerInvocation invocation, CancellationToken ct)
    {
        var o = options.Value;
        var client = await table.GetAsync(ct);
        var tally = new Tally();
        var budget = o.MaxPerRun;
        foreach (var partition in await PartitionsAsync(client, ct))
        {
            while (budget > 0)
            {
                var page = Math.Min(o.PageSize, budget);
                var due = await Outbox.ReadDueAsync(client, partition, time.GetUtcNow(), page, ct);
                foreach (var row in due)
                {
                    budget--;
                    await DeliverAsync(client, row, tally, ct);
                }

                // Handled rows left the range (deleted or moved ahead), so a full page means there may be more.
                if (due.Count < page)
                {
                    break;
                }
            }
        }

        var lines = new List<string> { $"sent {tally.Sent}, retry {tally.Retry}, failed {tally.Failed}" };
        if (tally.Skipped + tally.Errors + tally.Cleaned > 0)
        {
            lines.Add($"skipped {tally.Skipped} (claimed by another run), errors {tally.Errors}, stale due rows removed {tally.Cleaned}");
        }

        if (budget == 0)
        {
            lines.Add($"stopped at the limit of {o.MaxPerRun} messages per run; any others wait for the next run");
        }

        return lines;
    }

    private async Task DeliverAsync(TableClient client, OutboxDueRow due, Tally tally, CancellationToken ct)
    {
        try
        {
            var record = await Outbox.GetAsync(client, due.Partition, due.NotificationId, ct);
            if (record is null || record.Status is DeliveryStatus.Sent or DeliveryStatus.Failed)
            {
                // Usually another run finished the message after this one read its due row (the delete then finds
                // nothing); a due row left beside a final record cannot arise from Outbox's transactions, but would
                // come back every run, so it is removed.
                if (await Outbox.TryDeleteDueAsync(client, due, ct))
                {
                    tally.Cleaned++;
                }
                else
                {
                    tally.Skipped++;
                }

                return;
            }

            var now = time.GetUtcNow();
            var claim = await Outbox.TryClaimAsync(client, due, record, now, now + options.Value.Lease, ct);
            if (claim is null)
            {
                tally.Skipped++;
                return;
            }

            if (record.Status == DeliveryStatus.Sending)
            {
                log.LogWarning(
                    "Notification {Partition}/{NotificationId}: the lease of the run that claimed it at {ClaimedAt:O} ran out; sending it again (a duplicate if that run had sent it)",
                    due.Partition, due.NotificationId, record.LastAttemptAt);
            }

            DeliveryOutcome outcome;
            try
            {
                outcome = await SendAsync(client, record.Notification with { Partition = due.Partition }, ct);
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                // Type and stack only: a sender's exception message may quote the number or the text.
                log.LogError(
                    "Sending notification {Partition}/{NotificationId} for the {RecipientRole} failed unexpectedly: {Error} {Stack}",
                    due.Partition, due.NotificationId, record.Notification.RecipientRoleName, e.GetType().Name, e.StackTrace);
                outcome = new DeliveryOutcome.TryLater($"The sender failed: {e.GetType().Name}.");
            }

            var decidedAt = time.GetUtcNow();
            var decision = DeliveryPolicy.Decide(record.Attempts, outcome, decidedAt, UniformRandom(), options.Value.MaxAttempts);

            // Not cancelled with the run: once Twilio has the message, recording that matters more than stopping fast.
            if (!await Outbox.TryCompleteAsync(client, claim, decision, sender.Provider, decidedAt, CancellationToken.None))
            {
                log.LogWarning(
                    "Notification {Partition}/{NotificationId}: the send outlasted its lease and another run took it over; its outcome ({Status}) was not recorded",
                    due.Partition, due.NotificationId, decision.Status);
                tally.Skipped++;
                return;
            }

            switch (decision.Status)
            {
                case DeliveryStatus.Sent:
                    tally.Sent++;
                    break;
                case DeliveryStatus.Failed:
                    log.LogWarning("Notification {Partition}/{NotificationId} for the {RecipientRole} failed for good: {ErrorCode}", due.Partition, due.NotificationId, record.Notification.RecipientRoleName, decision.ErrorCode);
                    tally.Failed++;
                    break;
                default:
                    tally.Retry++;
                    break;
            }
        }
        catch (Exception e) when ((StorageFailure.IsStorageError(e) || e is InvalidDataException) && !ct.IsCancellationRequested)
        {
            // One message's trouble must not hold up the others; a claimed one comes back when its lease runs out.
            // Type and stack only, as for a sender's exception: its message is text this code does not control.
            log.LogError("Notification {Partition}/{NotificationId} could not be handled this run: {Error} {Stack}", due.Partition, due.NotificationId, e.GetType().Name, e.StackTrace);
            tally.Errors++;
        }
    }

    /// <summary>
    /// Sends one message, or says why not. A notice to a person goes to the phone that person verified, looked up now,
    /// at every attempt: never to a number someone else gave (a role grant's), never to a phone its user removed or
    /// that another user has verified since the notice was queued. A person with no verified phone gets nothing, and a
    /// number that opted out (STOP) neither; either skip is recorded on the message as a refusal.
    /// </summary>
    private async Task<DeliveryOutcome> SendAsync(TableClient client, Notification notification, CancellationToken ct)
    {
        if (await StillEntitledAsync(notification, ct) is false)
        {
            return new DeliveryOutcome.Rejected(RoleNotHeldCode, "The recipient no longer holds the role this notice was for in its study, or now also holds a blinded one; not sent.");
        }

        var to = notification.To ?? await SmsRows.VerifiedPhoneAsync(client, notification.RecipientUserId, ct);
        if (to is null)
        {
            return new DeliveryOutcome.Rejected(NoVerifiedPhoneCode, "The recipient has no verified SMS phone (PUT /api/sms/phone, then POST /api/sms/phone/verify); not sent.");
        }

        return await SmsRows.IsOptedOutAsync(client, to, ct)
            ? new DeliveryOutcome.Rejected(OptedOutCode, "The recipient's number opted out by SMS (STOP); not sent.")
            : await sender.SendAsync(notification with { To = to }, ct);
    }

    /// <summary>
    /// Whether a study notice's recipient may still read it, checked at every attempt, as its phone is: they still hold
    /// the role it was queued for in its study, and, when that role is unblinded (a depot manager's pick list names kit
    /// types), no blinded role there besides (a pair stored before separation of duties). Otherwise a pick list queued
    /// before a depot manager was revoked and made a blinded study manager would reach them. Null when there is no role
    /// to check: the system partition's messages (the phone verification code) and records written before roles were kept.
    /// </summary>
    private async Task<bool?> StillEntitledAsync(Notification notification, CancellationToken ct)
    {
        if (notification.RecipientRole is not { } role || notification.Partition is not { } study || study == IwrsTable.SystemPartition)
        {
            return null;
        }

        var held = (await roles.ForUserAsync(study, notification.RecipientUserId, ct)).Select(a => a.Assignment.Role).ToList();
        return held.Contains(role) && !(role.IsUnblinded() && SeparationOfDuties.Mixes(held));
    }

    /// <summary>
    /// Every study partition, then the system partition. Studies are found by their <c>study</c> row (keys only, no
    /// configuration parsed, so one study whose stored configuration no longer validates cannot stop every other
    /// study's messages); the list is reused for <see cref="NotificationOptions.StudyListRefresh"/>.
    /// </summary>
    private async Task<IReadOnlyList<string>> PartitionsAsync(TableClient client, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        lock (_gate)
        {
            if (_studies is { } cached && now - cached.ReadAt < options.Value.StudyListRefresh && now >= cached.ReadAt)
            {
                return cached.Partitions;
            }
        }

        var partitions = new List<string>();
        foreach (var partition in await StudyStore.PartitionsAsync(client, ct))
        {
            if (partition != IwrsTable.SystemPartition)
            {
                partitions.Add(partition);
            }
        }

        partitions.Add(IwrsTable.SystemPartition);
        lock (_gate)
        {
            _studies = (partitions, now);
        }

        return partitions;
    }

    /// <summary>Uniform in [0, 1) from the OS's CSPRNG (System.Random is banned).</summary>
    private static double UniformRandom() => RandomNumberGenerator.GetInt32(int.MaxValue) / (double)int.MaxValue;

    private sealed class Tally
    {
        public int Sent { get; set; }

        public int Retry { get; set; }

        public int Failed { get; set; }

        public int Skipped { get; set; }

        public int Errors { get; set; }

        public int Cleaned { get; set; }
    }
}
