using System.ComponentModel;
using Iwrs.Domain;
using Iwrs.Domain.Access;
using Iwrs.Functions.Auth;
using Iwrs.Functions.Errors;
using Iwrs.Storage.Stores;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;

namespace Iwrs.Functions.Features;

/// <summary>System-wide checks for administrators: who holds roles that separation of duties forbids together.</summary>
public sealed class AdminFunctions(AccessResolver access, RoleAssignmentStore roles, IOptions<AuthOptions> auth)
{
    /// <summary>Where a configured administrator's role comes from: the setting, not a grant.</summary>
    public const string ConfiguredAdministrator = "Auth:BootstrapAdministrators";

    /// <summary>One role of a conflicting pair; <see cref="GrantedBy"/> is <see cref="ConfiguredAdministrator"/> for a configured administrator.</summary>
    public sealed record HeldRoleView(string Role, string? SiteId, string GrantedBy, DateTimeOffset? GrantedAt);

    /// <summary>The unblinded roles a user was ever granted in the study (kept after a revoke), and the first grant's granter and time.</summary>
    public sealed record UnblindedHistoryView(IReadOnlyList<string> Roles, string FirstGrantedBy, DateTimeOffset FirstGrantedAt);

    /// <summary><see cref="FormerlyUnblinded"/>: set when the user holds a blinded role and was unblinded in the study before.</summary>
    public sealed record RoleConflictView(string UserId, string StudyId, IReadOnlyList<HeldRoleView> Blinded, IReadOnlyList<HeldRoleView> Unblinded, UnblindedHistoryView? FormerlyUnblinded);

    [Function("ListRoleConflicts")]
    [Description("Users holding a blinded and an unblinded role in the same study, or a blinded one after an unblinded one, in every study (administrators only).")]
    public async Task<IResult> ListRoleConflicts([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "admin/role-conflicts")] HttpRequest req, CancellationToken ct)
    {
        if (!await access.IsAdministratorAsync(Caller.From(req.HttpContext), ct))
        {
            return Problems.From(new DomainError("administrator-required", "Only an administrator can list role conflicts."));
        }

        var inStudies = await roles.InEveryStudyAsync(null, ct);
        var histories = await roles.HistoriesInEveryStudyAsync(ct);
        var administrators = (await roles.AllAsync(null, ct)).Where(a => a.Assignment.Role == Role.Administrator).ToList();
        var administratorIds = administrators.Select(a => a.Assignment.UserId).Concat(auth.Value.BootstrapAdministrators).ToHashSet(StringComparer.Ordinal);
        var stored = inStudies.Concat(administrators).DistinctBy(s => s.Assignment).ToDictionary(s => s.Assignment);

        var conflicts = inStudies.GroupBy(s => s.Assignment.StudyId!, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
            .SelectMany(study => SeparationOfDuties.FindConflicts(study.Key, study.Select(s => s.Assignment), administratorIds, histories))
            .Select(c => new RoleConflictView(c.UserId, c.StudyId, [.. c.Blinded.Select(View)], [.. c.Unblinded.Select(View)],
                c.FormerlyUnblinded is { } h ? new UnblindedHistoryView([.. h.Roles.Select(r => r.Name())], h.FirstGrantedBy, h.FirstGrantedAt) : null))
            .ToList();
        return TypedResults.Ok(conflicts);

        HeldRoleView View(RoleAssignment a) => stored.TryGetValue(a, out var s)
            ? new HeldRoleView(a.Role.Name(), a.SiteId, s.GrantedBy, s.GrantedAt)
            : new HeldRoleView(a.Role.Name(), a.SiteId, ConfiguredAdministrator, null);
    }
}
