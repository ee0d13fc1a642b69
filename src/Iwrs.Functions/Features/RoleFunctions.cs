using Iwrs.Domain;
using Iwrs.Domain.Access;
using Iwrs.Domain.Audit;
using Iwrs.Functions.Auth;
using Iwrs.Functions.Errors;
using Iwrs.Functions.Hosting;
using Iwrs.Storage.Stores;
using System.ComponentModel;
using Microsoft.Azure.Functions.Worker;

namespace Iwrs.Functions.Features;

/// <summary>Who holds which role: grant, revoke and list, per study (and administrators system-wide). Every change is audited.</summary>
public sealed class RoleFunctions(StudyStore studies, AccessResolver access, RequestBody body, RoleAssignmentStore roles, IwrsTable table, TimeProvider time)
{
    /// <summary>
    /// A grant. <c>Phone</c> is no longer taken (refused unless null): a grant's phone was set by whoever granted, so it
    /// could send a role's notices to a number of their choosing. Notices go only to the phone the grantee verified.
    /// </summary>
    public sealed record GrantRequest(string? UserId, string? Role, string? SiteId, string? Phone);

    public sealed record AssignmentView(string UserId, string Role, string? StudyId, string? SiteId, string GrantedBy, DateTimeOffset GrantedAt);

    /// <summary>Why a grant with a phone is refused, in the words the caller gets.</summary>
    public const string GrantPhoneRefused =
        "role grants take no phone: SMS notices go only to the phone the user registers and verifies themselves (PUT /api/sms/phone, then POST /api/sms/phone/verify).";

    public sealed record MeView(string UserId, string? Name, bool Administrator, IReadOnlyList<AssignmentView> Assignments);

    [Function("Me")]
    [Description("The caller's user id and roles in every study.")]
    public async Task<IResult> Me([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "me")] HttpRequest req, CancellationToken ct)
    {
        var caller = Caller.From(req.HttpContext);
        var held = new List<AssignmentView>();
        foreach (var study in await studies.ListAsync(ct))
        {
            held.AddRange((await roles.ForUserAsync(study.Configuration.StudyId, caller.UserId, ct)).Select(View));
        }

        return TypedResults.Ok(new MeView(caller.UserId, caller.Name, await access.IsAdministratorAsync(caller, ct), held));
    }

    [Function("ListRoleAssignments")]
    [Description("Everyone's roles in a study (administrator, study manager).")]
    public async Task<IResult> ListRoleAssignments([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "studies/{studyId}/role-assignments")] HttpRequest req, string studyId, CancellationToken ct)
    {
        var (_, refusal) = await StudyContext.ResolveAsync(studyId, StudyAction.ManageRoles, null, req.HttpContext, ct);
        return refusal ?? TypedResults.Ok((await roles.AllAsync(studyId, ct)).Select(View).ToList());
    }

    [Function("GrantRole")]
    [Description("Grant a role in a study; site roles name their site.")]
    public async Task<IResult> GrantRole([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "studies/{studyId}/role-assignments")] HttpRequest req, string studyId, CancellationToken ct)
    {
        var read = await body.ReadAsync<GrantRequest>(req, ct);
        if (!read.IsSuccess)
        {
            return Problems.From(read.Error!);
        }

        var assignment = RoleAssignment.Create(read.Value.UserId, read.Value.Role, studyId, read.Value.SiteId);
        if (!assignment.IsSuccess)
        {
            return Problems.From(assignment.Error!);
        }

        if (read.Value.Phone is not null)
        {
            return Problems.From(DomainError.Validation([new FieldError("phone", GrantPhoneRefused)], "A role grant does not say where SMS go."));
        }

        return await ChangeAsync(studyId, assignment.Value, grant: true, req.HttpContext, ct);
    }

    [Function("RevokeRole")]
    [Description("Revoke a role (site roles: ?siteId=).")]
    public async Task<IResult> RevokeRole([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "studies/{studyId}/role-assignments/{userId}/{role}")] HttpRequest req, string studyId, string userId, string role, CancellationToken ct)
    {
        var assignment = RoleAssignment.Create(userId, role, studyId, RequestQuery.String(req, "siteId"));
        return assignment.IsSuccess
            ? await ChangeAsync(studyId, assignment.Value, grant: false, req.HttpContext, ct)
            : Problems.From(assignment.Error!);
    }

    [Function("ListAdministrators")]
    [Description("Stored administrators (administrators only).")]
    public async Task<IResult> ListAdministrators([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "administrators")] HttpRequest req, CancellationToken ct) =>
        await access.IsAdministratorAsync(Caller.From(req.HttpContext), ct)
            ? TypedResults.Ok((await roles.AllAsync(null, ct)).Select(View).ToList())
            : Problems.From(new DomainError("administrator-required", "Only an administrator can see administrators."));

    [Function("GrantAdministrator")]
    [Description("Make a user an administrator.")]
    public Task<IResult> GrantAdministrator([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "administrators/{userId}")] HttpRequest req, string userId, CancellationToken ct) =>
        ChangeAdministratorAsync(userId, grant: true, req.HttpContext, ct);

    [Function("RevokeAdministrator")]
    [Description("Revoke a stored administrator.")]
    public Task<IResult> RevokeAdministrator([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "administrators/{userId}")] HttpRequest req, string userId, CancellationToken ct) =>
        ChangeAdministratorAsync(userId, grant: false, req.HttpContext, ct);

    private static AssignmentView View(StoredRoleAssignment s) =>
        new(s.Assignment.UserId, s.Assignment.Role.Name(), s.Assignment.StudyId, s.Assignment.SiteId, s.GrantedBy, s.GrantedAt);

    /// <summary>A role in a study: the caller must be allowed to grant that role to that user, at a site of the study.</summary>
    private async Task<IResult> ChangeAsync(string studyId, RoleAssignment assignment, bool grant, HttpContext http, CancellationToken ct)
    {
        var (context, refusal) = await StudyContext.ResolveAsync(studyId, StudyAction.ViewStudy, null, http, ct);
        if (refusal is not null)
        {
            return refusal;
        }

        var allowed = context!.Access.AuthorizeGrant(assignment.Role, assignment.UserId);
        if (!allowed.IsSuccess)
        {
            return Problems.From(allowed.Error!);
        }

        if (assignment.SiteId is not null && context.Study.Configuration.FindSite(assignment.SiteId) is null)
        {
            return Problems.From(DomainError.Validation([new FieldError("siteId", $"study '{studyId}' has no site '{assignment.SiteId}'.")]));
        }

        return await Apply(studyId, assignment, grant, context.Caller, allowed.Value, ct);
    }

    /// <summary>Administrators live outside every study, in the system partition; only an administrator changes them.</summary>
    private async Task<IResult> ChangeAdministratorAsync(string userId, bool grant, HttpContext http, CancellationToken ct)
    {
        var caller = Caller.From(http);
        if (!await access.IsAdministratorAsync(caller, ct))
        {
            return Problems.From(new DomainError("administrator-required", "Only an administrator can grant or revoke administrators."));
        }

        var assignment = RoleAssignment.Create(userId, Role.Administrator.Name(), null, null);
        return assignment.IsSuccess
            ? await Apply(IwrsTable.SystemPartition, assignment.Value, grant, caller, Role.Administrator, ct)
            : Problems.From(assignment.Error!);
    }

    /// <summary>
    /// Grants or revokes in one transaction with its audit record. Granting what is already held is a no-op
    /// answered 200 (a retried grant does no harm and leaves no second record); revoking what is not held is a 404.
    /// A grant that would leave its user a blinded and an unblinded role in one study is refused, 409 role-conflict
    /// (<see cref="SeparationOfDuties"/>), whoever asks.
    /// </summary>
    private async Task<IResult> Apply(string partition, RoleAssignment assignment, bool grant, Caller caller, Role actingAs, CancellationToken ct)
    {
        var result = await WriteAsync(partition, assignment, grant, caller, actingAs, null, ct);

        // An administrator (system partition) and a blinded study role (the study's partition) are two partitions, which
        // no transaction guards together: two such grants made at the same moment could each miss the other. So each
        // checks again once written; of two, at least one sees the other and takes itself back (both may), and
        // meanwhile StudyAccess lets a user holding both do nothing in the study.
        if (grant && result is { IsSuccess: true, Value.Changed: true } && (assignment.Role == Role.Administrator || !assignment.Role.IsUnblinded()) &&
            (await ConflictAsync(assignment, ct)).Conflict is { } late)
        {
            var undone = await WriteAsync(partition, assignment, grant: false, caller, actingAs, "Taken back as it was granted: " + late.Message, ct);
            result = undone.IsSuccess ? late : undone.Error!;
        }

        if (!result.IsSuccess)
        {
            return Problems.From(result.Error!);
        }

        var (changed, row) = result.Value;
        if (!grant)
        {
            return changed ? TypedResults.NoContent() : Problems.From(new DomainError("role-assignment-not-found", "That role assignment does not exist."));
        }

        var view = View(row!);
        var location = assignment.StudyId is null ? $"/api/administrators/{assignment.UserId}" : $"/api/studies/{assignment.StudyId}/role-assignments/{assignment.UserId}/{assignment.Role.Name()}";
        return changed ? TypedResults.Created(location, view) : TypedResults.Ok(view);
    }

    /// <summary>One optimistic write of a grant or revoke and its audit record; whether it changed anything, and the row granted.</summary>
    private async Task<Result<(bool Changed, StoredRoleAssignment? Row)>> WriteAsync(
        string partition, RoleAssignment assignment, bool grant, Caller caller, Role actingAs, string? reason, CancellationToken ct)
    {
        var client = await table.GetAsync(ct);
        return await OptimisticWrite.RunAsync(time, async attemptCt =>
        {
            // The head first: any role granted in this partition after it was read fails this write, which then decides
            // again on the roles as they are. So two grants to one user in one study are decided one after the other.
            var head = await AuditTrail.ReadHeadAsync(client, partition, attemptCt);
            var existing = await roles.GetAsync(assignment, attemptCt);

            // An unblinded study role held from before histories were kept leaves its trace too, when it is granted
            // again (nothing else changes) or revoked (in the revoke's transaction): see SeparationOfDuties.
            var past = existing is not null && assignment.Role.IsUnblinded()
                ? await roles.HistoryAsync(assignment.StudyId ?? UnblindedHistory.AllStudies, assignment.UserId, attemptCt)
                : null;
            var backfill = existing is null ? null : UnblindedHistory.After(past?.History, existing.Assignment, existing.GrantedBy, existing.GrantedAt);
            if (grant == existing is not null)
            {
                if (backfill is not null)
                {
                    // The user holds the role now, so no blinded grant can pass meanwhile; the row alone, under its ETag.
                    await client.SubmitTransactionAsync([RoleAssignmentStore.WriteHistory(backfill, past?.ETag)], attemptCt);
                }

                return Result<(bool Changed, StoredRoleAssignment? Row)>.Ok((false, existing));
            }

            // The user's unblinded history is read with their roles, after the head: an unblinded grant writes it in its
            // own transaction, which moves the head, so a blinded grant racing it decides again and sees it.
            var (conflict, history) = grant ? await ConflictAsync(assignment, attemptCt) : default;
            if (conflict is not null)
            {
                return conflict;
            }

            // The user's study index (system partition) first: an SMS from the user finds the study by it. Written
            // before the grant, it lists every study the user holds a role in; one left by a grant that then failed is harmless.
            if (grant && assignment.StudyId is { } studyId)
            {
                await roles.IndexStudyAsync(assignment.UserId, studyId, attemptCt);
            }

            var now = time.GetUtcNow();
            var actions = new StudyChange
            {
                grant ? RoleAssignmentStore.Insert(assignment, caller.UserId, now) : RoleAssignmentStore.Delete(existing!),
            };

            // An unblinded study role leaves its trace for good (a revoke never deletes it): see SeparationOfDuties.
            if (grant && UnblindedHistory.After(history?.History, assignment, caller.UserId, now) is { } unblinded)
            {
                actions.Add(RoleAssignmentStore.WriteHistory(unblinded, history?.ETag));
            }
            else if (!grant && backfill is not null)
            {
                actions.Add(RoleAssignmentStore.WriteHistory(backfill, past?.ETag));
            }
            AuditTrail.Append(actions, partition, head, now, new AuditEntry(
                caller.UserId,
                actingAs.Name(),
                Channel.Http,
                grant ? "role.granted" : "role.revoked",
                $"user:{assignment.UserId}",
                [
                    new AuditChange("role", grant ? null : assignment.Role.Name(), grant ? assignment.Role.Name() : null),
                    new AuditChange("siteId", grant ? null : assignment.SiteId, grant ? assignment.SiteId : null),
                ],
                reason));
            await client.SubmitTransactionAsync(actions, attemptCt);
            return Result<(bool, StoredRoleAssignment?)>.Ok((true, grant ? new StoredRoleAssignment(assignment, caller.UserId, now, string.Empty) : null));
        }, ct);
    }

    /// <summary>
    /// Whether granting <paramref name="grant"/> would give its user a blinded and an unblinded role in one study: for a
    /// study role, against the user's roles in that study, whether they were unblinded in the study before and (for a
    /// blinded one) whether they are or were an administrator, configured or stored; for administrator, against their
    /// roles in every study. With the user's unblinded history in the study (for administrator, their administrator
    /// history), which an unblinded grant extends.
    /// </summary>
    private async Task<(DomainError? Conflict, StoredUnblindedHistory? History)> ConflictAsync(RoleAssignment grant, CancellationToken ct)
    {
        if (grant.StudyId is null)
        {
            var everywhere = roles.InEveryStudyAsync(grant.UserId, ct);
            var administratorHistory = roles.HistoryAsync(UnblindedHistory.AllStudies, grant.UserId, ct);
            return (SeparationOfDuties.CheckGrant(grant, (await everywhere).Select(s => s.Assignment), isAdministrator: false), await administratorHistory);
        }

        var inStudy = roles.ForUserAsync(grant.StudyId, grant.UserId, ct);
        var history = roles.HistoryAsync(grant.StudyId, grant.UserId, ct);
        var blinded = !grant.Role.IsUnblinded();
        var formerAdministrator = blinded ? roles.HistoryAsync(UnblindedHistory.AllStudies, grant.UserId, ct) : Task.FromResult<StoredUnblindedHistory?>(null);
        var isAdministrator = blinded && await access.IsAdministratorUserAsync(grant.UserId, ct);
        return (SeparationOfDuties.CheckGrant(grant, (await inStudy).Select(s => s.Assignment), isAdministrator, (await history)?.History, (await formerAdministrator)?.History), await history);
    }
}
