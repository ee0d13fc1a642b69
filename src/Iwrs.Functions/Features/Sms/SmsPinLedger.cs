using System.Globalization;
using System.Security.Cryptography;
using Iwrs.Domain;
using Iwrs.Domain.Audit;
using Iwrs.Domain.Sms;
using Iwrs.Storage.Stores;

namespace Iwrs.Functions.Features.Sms;

/// <summary>
/// Users' SMS PINs and lockouts (<see cref="SmsPins"/>), in the system partition: each change — a PIN set, a wrong PIN,
/// the lock it leads to, a correct PIN that clears the count, an unlock — is one transaction with its audit record in
/// that partition's chain, so no failure is counted without being audited nor audited without being counted.
/// </summary>
public sealed class SmsPinLedger(IwrsTable table, TimeProvider time)
{
    /// <summary>The user sets (or changes) their own PIN; a lock stays until a study manager lifts it.</summary>
    public async Task<Result<PinState>> SetAsync(string userId, string pin, CancellationToken ct)
    {
        if (SmsPins.CheckPolicy(pin) is { } refusal)
        {
            return refusal;
        }

        var hash = SmsPins.Hash(pin, RandomNumberGenerator.GetBytes(SmsPins.SaltBytes));
        return await WriteAsync(userId, read => (SmsPins.Set(read, hash), new AuditEntry(
            userId, "user", Channel.Http, "sms.pin-set", $"user:{userId}",
            [new AuditChange("pin", read.Hash is null ? null : "(hash)", "(hash)"), new AuditChange("failures", Count(read.Failures), "0")])), ct);
    }

    /// <summary>
    /// A PIN typed in an SMS command about <paramref name="studyId"/>. Wrong PINs are counted and audited; the fifth in
    /// a row locks SMS for the user.
    /// </summary>
    public async Task<(PinOutcome Outcome, int Failures)> AttemptAsync(string userId, string pin, string studyId, CancellationToken ct)
    {
        var client = await table.GetAsync(ct);
        var result = await OptimisticWrite.RunAsync(time, async attemptCt =>
        {
            var read = await SmsRows.GetPinAsync(client, userId, attemptCt);
            var now = time.GetUtcNow();
            var (outcome, state) = SmsPins.Attempt(read.State, pin, now);
            if (state == read.State)
            {
                return Result<(PinOutcome, int)>.Ok((outcome, state.Failures));
            }

            var action = outcome switch
            {
                PinOutcome.Wrong => "sms.pin-failed",
                PinOutcome.LockedNow => "sms.locked",
                _ => "sms.pin-accepted",
            };
            List<AuditChange> changes =
            [
                new("failures", Count(read.State.Failures), Count(state.Failures)),
                new("studyId", null, studyId),
            ];
            if (outcome == PinOutcome.LockedNow)
            {
                changes.Add(new AuditChange("smsLocked", "no", "yes"));
            }

            await Commit(client, read, state, now, new AuditEntry(
                userId, "user", Channel.Sms, action, $"user:{userId}", changes,
                outcome == PinOutcome.LockedNow ? $"{SmsPins.MaxFailures} wrong PINs in a row" : null), attemptCt);
            return Result<(PinOutcome, int)>.Ok((outcome, state.Failures));
        }, ct);

        // Lost races every time: count nothing, let nothing through.
        return result.IsSuccess ? result.Value : (PinOutcome.Locked, SmsPins.MaxFailures);
    }

    /// <summary>A study manager (or administrator) lifts a lock; false when there was none (nothing written).</summary>
    public async Task<Result<bool>> UnlockAsync(string userId, string byUserId, string byRole, string studyId, CancellationToken ct)
    {
        var changed = false;
        var result = await WriteAsync(userId, read =>
        {
            if (!read.IsLocked && read.Failures == 0)
            {
                return (read, null);
            }

            changed = true;
            return (SmsPins.Unlock(read), new AuditEntry(
                byUserId, byRole, Channel.Http, "sms.unlocked", $"user:{userId}",
                [
                    new("failures", Count(read.Failures), "0"),
                    new("smsLocked", read.IsLocked ? "yes" : "no", "no"),
                    new("studyId", null, studyId),
                ]));
        }, ct);
        return result.IsSuccess ? changed : result.Error!;
    }

    public async Task<PinState> GetAsync(string userId, CancellationToken ct) =>
        (await SmsRows.GetPinAsync(await table.GetAsync(ct), userId, ct)).State;

    private async Task<Result<PinState>> WriteAsync(string userId, Func<PinState, (PinState State, AuditEntry? Entry)> decide, CancellationToken ct)
    {
        var client = await table.GetAsync(ct);
        return await OptimisticWrite.RunAsync(time, async attemptCt =>
        {
            var read = await SmsRows.GetPinAsync(client, userId, attemptCt);
            var (state, entry) = decide(read.State);
            if (entry is not null)
            {
                await Commit(client, read, state, time.GetUtcNow(), entry, attemptCt);
            }

            return Result<PinState>.Ok(state);
        }, ct);
    }

    private static Task<AuditRecord> Commit(Azure.Data.Tables.TableClient client, StoredPin read, PinState state, DateTimeOffset now, AuditEntry entry, CancellationToken ct) =>
        AuditTrail.SubmitAsync(client, IwrsTable.SystemPartition, [SmsRows.PutPin(read, state)], now, entry, ct);

    private static string Count(int n) => n.ToString(CultureInfo.InvariantCulture);
}
