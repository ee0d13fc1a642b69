namespace Iwrs.Domain.Access;

/// <summary>
/// One user's roles in one study that break <see cref="SeparationOfDuties"/>: the blinded ones and the unblinded ones.
/// An administrator's role, held outside every study, is among the unblinded ones of every study (StudyId null).
/// </summary>
public sealed record RoleConflict(string UserId, string StudyId, IReadOnlyList<RoleAssignment> Blinded, IReadOnlyList<RoleAssignment> Unblinded);

/// <summary>
/// Nobody holds a blinded and an unblinded role in the same study. Someone who randomizes, receives kits or reviews
/// outcomes in a blinded role while also seeing arms, kit types or the list would carry what they see into blinded
/// work; no view of the data can undo that, so the roles are kept apart. The administrator role is system-wide and
/// unblinded in every study: an administrator holds no blinded role in any study, and whoever holds one is not made
/// administrator. Configured (bootstrap) administrators count as administrators.
/// </summary>
public static class SeparationOfDuties
{
    /// <summary>The refusal's stable code.</summary>
    public const string ConflictCode = "role-conflict";

    /// <summary>
    /// Do <paramref name="roles"/>, all held by one user in one study (administrator included when the user is one),
    /// mix blinded and unblinded roles?
    /// </summary>
    public static bool Mixes(IEnumerable<Role> roles)
    {
        ArgumentNullException.ThrowIfNull(roles);
        var list = roles.ToList();
        return list.Any(r => r.IsUnblinded()) && list.Any(r => !r.IsUnblinded());
    }

    /// <summary>
    /// Whether <paramref name="grant"/> keeps the duties apart, given the roles its user already holds
    /// (<paramref name="held"/>: for a study role, at least those in its study; for administrator, those in every
    /// study) and, for a study role, whether the user is an administrator (granting administrator does not ask). Null
    /// when it does; otherwise the refusal, which names the roles that conflict and nothing else.
    /// </summary>
    public static DomainError? CheckGrant(RoleAssignment grant, IEnumerable<RoleAssignment> held, bool isAdministrator)
    {
        ArgumentNullException.ThrowIfNull(grant);
        ArgumentNullException.ThrowIfNull(held);
        var mine = held.Where(h => h.UserId == grant.UserId).ToList();
        if (grant.Role == Role.Administrator)
        {
            var blinded = mine.Where(h => h.StudyId is not null && !h.Role.IsUnblinded()).ToList();
            return blinded.Count == 0
                ? null
                : new DomainError(ConflictCode,
                    $"'{grant.UserId}' holds {Describe(blinded, withStudy: true)}, and administrator is an unblinded role in every study. " +
                    "Nobody holds a blinded and an unblinded role in the same study: revoke those roles first.");
        }

        var opposite = mine.Where(h => h.StudyId == grant.StudyId && h.Role.IsUnblinded() != grant.Role.IsUnblinded()).ToList();
        if (opposite.Count > 0)
        {
            return new DomainError(ConflictCode,
                $"'{grant.UserId}' holds {Describe(opposite, withStudy: false)} in this study, which is {Class(!grant.Role.IsUnblinded())}; " +
                $"{grant.Role.Name()} is {Class(grant.Role.IsUnblinded())}. Nobody holds a blinded and an unblinded role in the same study.");
        }

        return isAdministrator && !grant.Role.IsUnblinded()
            ? new DomainError(ConflictCode,
                $"'{grant.UserId}' is an administrator, an unblinded role in every study; {grant.Role.Name()} is blinded. " +
                "Nobody holds a blinded and an unblinded role in the same study.")
            : null;
    }

    /// <summary>
    /// Every user whose roles in <paramref name="studyId"/> break the rule. <paramref name="assignments"/> are the
    /// study's (others are ignored); <paramref name="administrators"/> are the user ids that are administrators,
    /// stored or configured. Ordered by user id.
    /// </summary>
    public static IReadOnlyList<RoleConflict> FindConflicts(string studyId, IEnumerable<RoleAssignment> assignments, IReadOnlySet<string> administrators)
    {
        ArgumentNullException.ThrowIfNull(assignments);
        ArgumentNullException.ThrowIfNull(administrators);
        var conflicts = new List<RoleConflict>();
        foreach (var user in assignments.Where(a => a.StudyId == studyId).GroupBy(a => a.UserId).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var blinded = user.Where(a => !a.Role.IsUnblinded()).ToList();
            var unblinded = user.Where(a => a.Role.IsUnblinded()).ToList();
            if (administrators.Contains(user.Key))
            {
                unblinded.Add(new RoleAssignment(user.Key, Role.Administrator, null, null));
            }

            if (blinded.Count > 0 && unblinded.Count > 0)
            {
                conflicts.Add(new RoleConflict(user.Key, studyId, blinded, unblinded));
            }
        }

        return conflicts;
    }

    private static string Class(bool unblinded) => unblinded ? "unblinded" : "blinded";

    private static string Describe(IEnumerable<RoleAssignment> roles, bool withStudy) =>
        string.Join(", ", roles.Select(r => r.Role.Name() + (r.SiteId is null ? string.Empty : $" at {r.SiteId}") + (withStudy ? $" in study {r.StudyId}" : string.Empty)));
}
