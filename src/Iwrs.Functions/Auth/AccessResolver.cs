using System.Collections.Concurrent;
using Iwrs.Domain;
using Iwrs.Domain.Access;
using Iwrs.Domain.Audit;
using Iwrs.Functions.Features;
using Iwrs.Storage.Stores;
using Microsoft.Extensions.Options;

namespace Iwrs.Functions.Auth;

/// <summary>
/// Loads what a caller may do in a study: their assignments there (one bounded range read) and whether they are
/// an administrator (configured bootstrap administrators, or one point read in the system partition).
/// </summary>
/// <remarks>
/// A configured administrator leaves their administrator history (<see cref="UnblindedHistory.AllStudies"/>) the first
/// time they are seen as one, so that once removed from <c>Auth:BootstrapAdministrators</c> they are still given no
/// blinded role (<see cref="SeparationOfDuties"/>): one point read per configured administrator and process, and one
/// audited transaction the first time ever. Someone configured who never made a request saw nothing.
/// </remarks>
public sealed class AccessResolver(RoleAssignmentStore roles, IOptions<AuthOptions> options, IwrsTable table, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, byte> _recorded = new(StringComparer.Ordinal);

    /// <summary>Whether the caller, making this request, is an administrator (a configured one is recorded, above).</summary>
    public async Task<bool> IsAdministratorAsync(Caller caller, CancellationToken ct)
    {
        if (options.Value.BootstrapAdministrators.Contains(caller.UserId, StringComparer.Ordinal))
        {
            return await RecordConfiguredAsync(caller.UserId, ct);
        }

        return await roles.IsAdministratorAsync(caller.UserId, ct);
    }

    /// <summary>
    /// Whether <paramref name="userId"/>, someone a request is about (a grant's grantee), is an administrator: nothing is
    /// recorded, since they are not the one acting (attacker review 13).
    /// </summary>
    public async Task<bool> IsAdministratorUserAsync(string userId, CancellationToken ct) =>
        options.Value.BootstrapAdministrators.Contains(userId, StringComparer.Ordinal) || await roles.IsAdministratorAsync(userId, ct);

    public async Task<StudyAccess> ForStudyAsync(Caller caller, string studyId, CancellationToken ct)
    {
        var admin = IsAdministratorAsync(caller, ct);
        var held = await roles.ForUserAsync(studyId, caller.UserId, ct);
        return new StudyAccess(caller.UserId, studyId, held.Select(h => h.Assignment).ToList(), await admin);
    }

    /// <summary>
    /// Writes the configured administrator's history unless it exists (after the audit head, with its audit record).
    /// False when it could not be written (the system partition changed too often meanwhile): the request is then not
    /// taken as an administrator's, so nobody acts as one unrecorded.
    /// </summary>
    private async Task<bool> RecordConfiguredAsync(string userId, CancellationToken ct)
    {
        if (_recorded.ContainsKey(userId))
        {
            return true;
        }

        var client = await table.GetAsync(ct);
        var written = await OptimisticWrite.RunAsync(time, async attemptCt =>
        {
            var head = await AuditTrail.ReadHeadAsync(client, IwrsTable.SystemPartition, attemptCt);
            var past = await roles.HistoryAsync(UnblindedHistory.AllStudies, userId, attemptCt);
            var now = time.GetUtcNow();
            if (UnblindedHistory.After(past?.History, new RoleAssignment(userId, Role.Administrator, null, null), AdminFunctions.ConfiguredAdministrator, now) is not { } history)
            {
                return Result<bool>.Ok(false);
            }

            var actions = new StudyChange { RoleAssignmentStore.WriteHistory(history, past?.ETag) };
            AuditTrail.Append(actions, IwrsTable.SystemPartition, head, now, new AuditEntry(
                userId, Role.Administrator.Name(), Channel.Http, "administrator.configured", $"user:{userId}",
                [new AuditChange("administratorHistory", null, AdminFunctions.ConfiguredAdministrator)]));
            await client.SubmitTransactionAsync(actions, attemptCt);
            return Result<bool>.Ok(true);
        }, ct);
        if (written.IsSuccess)
        {
            _recorded.TryAdd(userId, 0);
        }

        return written.IsSuccess;
    }
}
