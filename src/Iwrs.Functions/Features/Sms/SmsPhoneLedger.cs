using System.Globalization;
using System.Security.Cryptography;
using Iwrs.Domain;
using Iwrs.Domain.Audit;
using Iwrs.Domain.Notifications;
using Iwrs.Domain.Sms;
using Iwrs.Domain.Supply;
using Iwrs.Storage.Stores;

namespace Iwrs.Functions.Features.Sms;

/// <summary>
/// Users' own SMS phones (<see cref="PhoneVerification"/>), in the system partition. Every change is one transaction
/// with its audit record in that partition's chain: a registration with the SMS that carries its code (an outbox
/// record, sent by the dispatcher like any notice), a wrong code, a void or expired one, and the verification, which
/// also inserts the phone's owner row (the index an inbound SMS is answered from) and removes the old phone's.
/// </summary>
public sealed class SmsPhoneLedger(IwrsTable table, RoleAssignmentStore roles, TimeProvider time, IRandomSource random)
{
    /// <summary>What a typed code came to, and the state now stored.</summary>
    public sealed record Verification(PhoneCodeOutcome Outcome, PhoneRegistration State);

    public async Task<PhoneRegistration> GetAsync(string userId, CancellationToken ct) =>
        (await SmsRows.GetPhoneAsync(await table.GetAsync(ct), userId, ct)).State;

    /// <summary>
    /// The user asks for <paramref name="phone"/> to be theirs: a code goes to it. Refused when another user owns the
    /// number (it is never taken from them) or this window's codes are used up; nothing is sent for a phone the user
    /// already owns.
    /// </summary>
    public async Task<Result<PhoneRegistration>> RegisterAsync(string userId, string phone, CancellationToken ct)
    {
        if (!PhoneNumbers.IsE164(phone))
        {
            return DomainError.Validation([new FieldError("phone", PhoneNumbers.E164Rule)]);
        }

        var client = await table.GetAsync(ct);
        return await OptimisticWrite.RunAsync(time, async attemptCt =>
        {
            var read = await SmsRows.GetPhoneAsync(client, userId, attemptCt);
            var owner = await SmsRows.GetOwnerAsync(client, phone, attemptCt);
            if (owner is not null && owner != userId)
            {
                return Taken;
            }

            if (owner == userId && read.State.Phone == phone)
            {
                return Result<PhoneRegistration>.Ok(read.State);
            }

            var now = time.GetUtcNow();
            var code = PhoneVerification.NewCode(random);
            var started = PhoneVerification.Start(read.State, phone, code, RandomNumberGenerator.GetBytes(PhoneVerification.SaltBytes), now);
            if (!started.IsSuccess)
            {
                return started;
            }

            await AuditTrail.SubmitAsync(client, IwrsTable.SystemPartition, [SmsRows.PutPhone(read, started.Value)], now, new AuditEntry(
                userId, "user", Channel.Http, "sms.phone-code-sent", $"user:{userId}",
                [new AuditChange("pendingPhone", read.State.Pending?.Phone, phone), new AuditChange("codesSent", Count(read.State.CodesSent), Count(started.Value.CodesSent))]),
                attemptCt,
                (sequence, actions) =>
                {
                    var id = sequence.ToString("D12", CultureInfo.InvariantCulture) + "-0";
                    Outbox.Add(actions, IwrsTable.SystemPartition, Notification.ToNumber(id, userId, phone, PhoneVerification.Message(code), PhoneVerification.CodeEvent).Value, now);
                });
            return Result<PhoneRegistration>.Ok(started.Value);
        }, ct);
    }

    /// <summary>
    /// The user types the code they got. Right and in time: the phone is theirs, in one transaction with its owner row
    /// (an insert, so of two users verifying one number at once only one can), the old phone's owner row removed and
    /// the user's studies indexed. Wrong: counted; the fifth voids the code.
    /// </summary>
    public async Task<Result<Verification>> VerifyAsync(string userId, string? code, CancellationToken ct)
    {
        var client = await table.GetAsync(ct);
        return await OptimisticWrite.RunAsync<Verification>(time, async attemptCt =>
        {
            var read = await SmsRows.GetPhoneAsync(client, userId, attemptCt);
            var now = time.GetUtcNow();
            var (outcome, state) = PhoneVerification.Verify(read.State, code, now);
            if (outcome == PhoneCodeOutcome.NoneWaiting)
            {
                return new Verification(outcome, state);
            }

            var actions = new StudyChange { SmsRows.PutPhone(read, state) };
            var before = read.State;
            List<AuditChange> changes = [new("attempts", Count(before.Pending!.Attempts), Count(state.Pending?.Attempts ?? before.Pending.Attempts + 1))];
            if (outcome == PhoneCodeOutcome.Verified)
            {
                var owner = await SmsRows.GetOwnerAsync(client, state.Phone!, attemptCt);
                if (owner is not null && owner != userId)
                {
                    return Taken;
                }

                if (owner is null)
                {
                    actions.Add(SmsRows.AddOwner(state.Phone!, userId, now));
                }

                if (before.Phone is { } old && old != state.Phone && await SmsRows.GetOwnerAsync(client, old, attemptCt) == userId)
                {
                    actions.Add(SmsRows.DeleteOwner(old));
                }

                // Grants made before the study index existed: index the user's studies now (one scan, at verification only).
                foreach (var studyId in (await roles.InEveryStudyAsync(userId, attemptCt)).Select(a => a.Assignment.StudyId).OfType<string>().Distinct(StringComparer.Ordinal).Take(80))
                {
                    actions.Add(RoleAssignmentStore.IndexStudy(userId, studyId));
                }

                changes = [new("phone", before.Phone, state.Phone)];
            }

            var action = outcome switch
            {
                PhoneCodeOutcome.Verified => "sms.phone-verified",
                PhoneCodeOutcome.Wrong => "sms.phone-code-failed",
                PhoneCodeOutcome.Voided => "sms.phone-code-voided",
                _ => "sms.phone-code-expired",
            };
            await AuditTrail.SubmitAsync(client, IwrsTable.SystemPartition, actions, now, new AuditEntry(
                userId, "user", Channel.Http, action, $"user:{userId}", changes,
                outcome == PhoneCodeOutcome.Voided ? $"{PhoneVerification.MaxAttempts} wrong codes" : null), attemptCt);
            return new Verification(outcome, state);
        }, ct);
    }

    /// <summary>
    /// The user gives up their phone, or an administrator or manager removes it for them (a lost phone): SMS from it no
    /// longer acts as them and no notice goes to it; a number waiting for its code is dropped too. Nothing to do when
    /// they have none. <paramref name="by"/> is who removed it and in which role (the user themselves: <c>user</c>), and
    /// <paramref name="studyId"/> the study a manager did it through.
    /// </summary>
    public async Task<Result<PhoneRegistration>> RemoveAsync(string userId, (string UserId, string Role) by, string? studyId, CancellationToken ct)
    {
        var client = await table.GetAsync(ct);
        return await OptimisticWrite.RunAsync(time, async attemptCt =>
        {
            var read = await SmsRows.GetPhoneAsync(client, userId, attemptCt);
            if (read.State.Phone is null && read.State.Pending is null)
            {
                return Result<PhoneRegistration>.Ok(read.State);
            }

            var state = PhoneVerification.Remove(read.State);
            var actions = new StudyChange { SmsRows.PutPhone(read, state) };
            if (read.State.Phone is { } old && await SmsRows.GetOwnerAsync(client, old, attemptCt) == userId)
            {
                actions.Add(SmsRows.DeleteOwner(old));
            }

            List<AuditChange> changes = [new("phone", read.State.Phone, null), new("pendingPhone", read.State.Pending?.Phone, null)];
            if (studyId is not null)
            {
                changes.Add(new AuditChange("studyId", null, studyId));
            }

            await AuditTrail.SubmitAsync(client, IwrsTable.SystemPartition, actions, time.GetUtcNow(), new AuditEntry(
                by.UserId, by.Role, Channel.Http, "sms.phone-removed", $"user:{userId}", changes), attemptCt);
            return Result<PhoneRegistration>.Ok(state);
        }, ct);
    }

    private static DomainError Taken => new("sms-phone-taken", "This number is another user's verified SMS phone; it stays theirs until they remove it.");

    private static string Count(int n) => n.ToString(CultureInfo.InvariantCulture);
}
