namespace Iwrs.Domain.Access;

/// <summary>
/// One user's roles in one study that break <see cref="SeparationOfDuties"/>: the blinded ones and the unblinded ones.
/// An administrator's role, held outside every study, is among the unblinded ones of every study (StudyId null).
/// </summary>
/// <remarks><see cref="FormerlyUnblinded"/>: the user's <see cref="UnblindedHistory"/> in the study, when they hold a blinded role now and have one.</remarks>
public sealed record RoleConflict(string UserId, string StudyId, IReadOnlyList<RoleAssignment> Blinded, IReadOnlyList<RoleAssignment> Unblinded, UnblindedHistory? FormerlyUnblinded = null);

/// <summary>
/// That <see cref="UserId"/> was granted an unblinded role in <see cref="StudyId"/>: the unblinded roles they were
/// ever granted there (in the order first granted) and who granted the first, when. Written with every such grant and
/// never removed, revocation included: what its holder saw stays seen.
/// </summary>
/// <remarks>
/// An administrator's history has <see cref="StudyId"/> <see cref="AllStudies"/>: the role is outside studies and
/// unblinded in every one, so whoever was an administrator is given no blinded role in any study afterwards.
/// </remarks>
public sealed record UnblindedHistory(string UserId, string StudyId, IReadOnlyList<Role> Roles, string FirstGrantedBy, DateTimeOffset FirstGrantedAt)
{
    /// <summary>The <see cref="StudyId"/> of an administrator's history: no study id can be it.</summary>
    public const string AllStudies = "*";

    /// <summary>
    /// The history once <paramref name="grant"/> is made by <paramref name="grantedBy"/> at <paramref name="at"/>, given
    /// <paramref name="current"/> (null: none yet); null when the grant adds nothing to it (a blinded role, or an
    /// unblinded role already in it). Administrator goes into the <see cref="AllStudies"/> history.
    /// </summary>
    public static UnblindedHistory? After(UnblindedHistory? current, RoleAssignment grant, string grantedBy, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(grant);
        var scope = grant.StudyId ?? (grant.Role == Role.Administrator ? AllStudies : null);
        if (scope is null || !grant.Role.IsUnblinded() || current?.Roles.Contains(grant.Role) == true)
        {
            return null;
        }

        // A role stored before histories were kept comes in when revoked or granted again, with its own grant's time,
        // which can be earlier than the history's first: the first grant is then that one.
        return current is null
            ? new UnblindedHistory(grant.UserId, scope, [grant.Role], grantedBy, at)
            : at < current.FirstGrantedAt
                ? current with { Roles = [grant.Role, .. current.Roles], FirstGrantedBy = grantedBy, FirstGrantedAt = at }
                : current with { Roles = [.. current.Roles, grant.Role] };
    }

    /// <summary>
    /// What a user's past shows in one study: their history there and their <see cref="AllStudies"/> (administrator)
    /// history, as one (roles in the order first granted, the earlier first grant); null when neither exists.
    /// </summary>
    public static UnblindedHistory? Combined(UnblindedHistory? inStudy, UnblindedHistory? administrator)
    {
        if (inStudy is null || administrator is null)
        {
            return inStudy ?? administrator;
        }

        var (first, second) = administrator.FirstGrantedAt < inStudy.FirstGrantedAt ? (administrator, inStudy) : (inStudy, administrator);
        return inStudy with
        {
            Roles = [.. first.Roles.Concat(second.Roles).Distinct()],
            FirstGrantedBy = first.FirstGrantedBy,
            FirstGrantedAt = first.FirstGrantedAt,
        };
    }
}

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
    /// when it does; otherwise the refusal, which names the roles that conflict and nothing else. A blinded study role is
    /// also refused to a user with an <paramref name="history"/> in its study: someone who was unblinded there (a depot
    /// manager since revoked) does not go back to blinded work in it; the other way round is allowed. So is one to a user
    /// with an <see cref="UnblindedHistory.AllStudies"/> <paramref name="administratorHistory"/>: a former administrator.
    /// </summary>
    public static DomainError? CheckGrant(RoleAssignment grant, IEnumerable<RoleAssignment> held, bool isAdministrator, UnblindedHistory? history = null, UnblindedHistory? administratorHistory = null)
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

        if (!grant.Role.IsUnblinded() && history is not null && history.UserId == grant.UserId && history.StudyId == grant.StudyId)
        {
            return new DomainError(ConflictCode,
                $"'{grant.UserId}' was unblinded in this study before ({string.Join(", ", history.Roles.Select(r => r.Name()))}); {grant.Role.Name()} is blinded. " +
                "Revoking a role does not undo what its holder saw: whoever held an unblinded role in a study is never given a blinded one there.");
        }

        if (isAdministrator && !grant.Role.IsUnblinded())
        {
            return new DomainError(ConflictCode,
                $"'{grant.UserId}' is an administrator, an unblinded role in every study; {grant.Role.Name()} is blinded. " +
                "Nobody holds a blinded and an unblinded role in the same study.");
        }

        return !grant.Role.IsUnblinded() && administratorHistory is not null && administratorHistory.UserId == grant.UserId && administratorHistory.StudyId == UnblindedHistory.AllStudies
            ? new DomainError(ConflictCode,
                $"'{grant.UserId}' was an administrator before, an unblinded role in every study; {grant.Role.Name()} is blinded. " +
                "Revoking a role does not undo what its holder saw: whoever was an administrator is never given a blinded role.")
            : null;
    }

    /// <summary>
    /// Every user whose roles in <paramref name="studyId"/> break the rule. <paramref name="assignments"/> are the
    /// study's (others are ignored); <paramref name="administrators"/> are the user ids that are administrators,
    /// stored or configured. A user who holds a blinded role and has an unblinded history in the study
    /// (<paramref name="histories"/>; others are ignored) or an <see cref="UnblindedHistory.AllStudies"/> one (a former
    /// administrator) is listed too, with that history (<see cref="UnblindedHistory.Combined"/>). Ordered by user id.
    /// </summary>
    public static IReadOnlyList<RoleConflict> FindConflicts(
        string studyId, IEnumerable<RoleAssignment> assignments, IReadOnlySet<string> administrators, IEnumerable<UnblindedHistory>? histories = null)
    {
        ArgumentNullException.ThrowIfNull(assignments);
        ArgumentNullException.ThrowIfNull(administrators);
        var all = (histories ?? []).ToList();
        UnblindedHistory? Past(string userId, string scope) => all.FirstOrDefault(h => h.UserId == userId && h.StudyId == scope);
        var conflicts = new List<RoleConflict>();
        foreach (var user in assignments.Where(a => a.StudyId == studyId).GroupBy(a => a.UserId).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var blinded = user.Where(a => !a.Role.IsUnblinded()).ToList();
            var unblinded = user.Where(a => a.Role.IsUnblinded()).ToList();
            if (administrators.Contains(user.Key))
            {
                unblinded.Add(new RoleAssignment(user.Key, Role.Administrator, null, null));
            }

            var history = UnblindedHistory.Combined(Past(user.Key, studyId), Past(user.Key, UnblindedHistory.AllStudies));
            if (blinded.Count > 0 && (unblinded.Count > 0 || history is not null))
            {
                conflicts.Add(new RoleConflict(user.Key, studyId, blinded, unblinded, history));
            }
        }

        return conflicts;
    }

    private static string Class(bool unblinded) => unblinded ? "unblinded" : "blinded";

    private static string Describe(IEnumerable<RoleAssignment> roles, bool withStudy) =>
        string.Join(", ", roles.Select(r => r.Role.Name() + (r.SiteId is null ? string.Empty : $" at {r.SiteId}") + (withStudy ? $" in study {r.StudyId}" : string.Empty)));
}
