namespace Iwrs.Domain.Access;

/// <summary>What a caller wants to do in a study; each maps to the roles allowed to do it.</summary>
public enum StudyAction
{
    /// <summary>Read the study (blinded view unless the caller is unblinded).</summary>
    ViewStudy,

    /// <summary>Read the full configuration: arms, kit types, block sizes.</summary>
    ViewConfiguration,

    /// <summary>Load a new version of the study configuration.</summary>
    LoadConfiguration,

    /// <summary>See and change who holds which role.</summary>
    ManageRoles,

    /// <summary>Read one site's details (site-scoped).</summary>
    ViewSite,

    /// <summary>Read and verify the audit trail (blinded readers see unblinded values withheld).</summary>
    ViewAudit,

    /// <summary>Import the depot's kit list.</summary>
    ImportKits,

    /// <summary>Create and dispatch shipments; see every shipment with kit types.</summary>
    ManageShipments,

    /// <summary>See shipments (a site role: its own site's, kit numbers only).</summary>
    ViewShipments,

    /// <summary>Receive a shipment at a site, kit by kit.</summary>
    ReceiveShipment,

    /// <summary>See a site's stock (totals and kit numbers; per type for unblinded roles).</summary>
    ViewInventory,

    /// <summary>Randomize or enrol a subject at a site.</summary>
    Randomize,

    /// <summary>Dispense a subject's kit at a visit.</summary>
    Dispense,

    /// <summary>Record that a subject stops treatment.</summary>
    Discontinue,

    /// <summary>See a subject (blinded view unless unblinded).</summary>
    ViewSubject,

    /// <summary>Emergency unblinding of one subject.</summary>
    Unblind,

    /// <summary>Generate, import or export the randomization list.</summary>
    ManageRandomizationList,
}

/// <summary>
/// The roles one caller holds in one study, and the decisions that follow from them. Pure: the assignments
/// come in, a decision (or the reason for refusal) comes out.
/// </summary>
public sealed class StudyAccess
{
    public StudyAccess(string userId, string studyId, IReadOnlyList<RoleAssignment> assignments, bool isAdministrator)
    {
        UserId = userId;
        StudyId = studyId;
        Assignments = assignments.Where(a => a.UserId == userId && a.StudyId == studyId).ToList();
        IsAdministrator = isAdministrator;
    }

    public string UserId { get; }

    public string StudyId { get; }

    public IReadOnlyList<RoleAssignment> Assignments { get; }

    public bool IsAdministrator { get; }

    /// <summary>
    /// Anyone with an unblinded role in this study, or an administrator, unless they also hold a blinded role here
    /// (<see cref="HasRoleConflict"/>): then nothing unblinded is shown to them at all.
    /// </summary>
    public bool IsUnblinded => !HasRoleConflict && (IsAdministrator || Assignments.Any(a => a.Role.IsUnblinded()));

    /// <summary>
    /// The caller holds a blinded and an unblinded role in this study (an administrator counts as unblinded), which
    /// <see cref="SeparationOfDuties"/> forbids; only assignments stored before that rule, a configured administrator
    /// who also holds a blinded study role, or (for an instant) a grant that raced an administrator grant can leave such
    /// a pair. Until one of the roles is revoked the caller may do nothing in the study: acting in the blinded role while
    /// holding the unblinded one is the leak the rule prevents, and keeping only one of the two would pick a side the
    /// people managing the study did not choose.
    /// </summary>
    public bool HasRoleConflict => SeparationOfDuties.Mixes(Assignments.Select(a => a.Role).Concat(IsAdministrator ? [Role.Administrator] : []));

    public bool HasAnyRole => IsAdministrator || Assignments.Count > 0;

    /// <summary>
    /// Decides whether the caller may do <paramref name="action"/> (at <paramref name="siteId"/> for site-scoped
    /// actions). On success, the role it is done as, for the audit trail.
    /// </summary>
    public Result<Role> Authorize(StudyAction action, string? siteId = null)
    {
        if (HasRoleConflict)
        {
            return ConflictRefusal();
        }

        var allowed = AllowedRoles(action);
        if (IsAdministrator && allowed.Contains(Role.Administrator))
        {
            return Role.Administrator;
        }

        var held = Assignments.Where(a => allowed.Contains(a.Role)).ToList();
        if (held.Count == 0)
        {
            return Refusal(action);
        }

        if (siteId is not null)
        {
            // An action at a site: a role that covers the whole study acts anywhere, a site role only at its site.
            var match = held.FirstOrDefault(a => !a.Role.IsSiteScoped() || a.SiteId == siteId);
            return match is null
                ? new DomainError("not-authorized-for-site", $"You hold no role for this at site '{siteId}'.")
                : match.Role;
        }

        return held[0].Role;
    }

    private DomainError ConflictRefusal() => new(
        "not-authorized",
        $"You hold a blinded and an unblinded role in study '{StudyId}', which nobody may hold together; nothing can be done in it under your name until one of them is revoked.");

    private DomainError Refusal(StudyAction action)
    {
        if (!HasAnyRole)
        {
            return new DomainError("not-authorized-for-study", $"You hold no role in study '{StudyId}'.");
        }

        return action is StudyAction.ViewConfiguration or StudyAction.LoadConfiguration && !IsUnblinded
            ? new DomainError("unblinded-role-required", "This needs an unblinded role in the study.")
            : new DomainError("not-authorized", "None of your roles in this study may do this.");
    }

    /// <summary>Can the caller grant or revoke <paramref name="role"/> in this study?</summary>
    public Result<Role> AuthorizeGrant(Role role, string? granteeUserId = null)
    {
        if (HasRoleConflict)
        {
            return ConflictRefusal();
        }

        if (granteeUserId == UserId && !IsAdministrator)
        {
            return new DomainError("not-authorized", "You may not grant or revoke your own roles.");
        }

        if (IsAdministrator)
        {
            return Role.Administrator;
        }

        // A study manager staffs the study with blinded roles. Roles that see or break the blind (depot manager,
        // unblinded statistician, unblinding investigator) come only from the system owner, and nobody grants
        // themselves anything: a blinded manager could otherwise unblind themselves.
        if (Assignments.Any(a => a.Role == Role.StudyManager) && !role.IsUnblinded() && role != Role.UnblindingInvestigator)
        {
            return Role.StudyManager;
        }

        return HasAnyRole
            ? new DomainError("not-authorized", $"You may not grant or revoke {role.Name()} in this study.")
            : new DomainError("not-authorized-for-study", $"You hold no role in study '{StudyId}'.");
    }

    private static Role[] AllowedRoles(StudyAction action) => action switch
    {
        StudyAction.ViewStudy => Roles.All.ToArray(),
        StudyAction.ViewConfiguration => [Role.Administrator, Role.UnblindedStatistician, Role.DepotManager],
        StudyAction.LoadConfiguration => [Role.Administrator, Role.UnblindedStatistician],
        StudyAction.ManageRoles => [Role.Administrator, Role.StudyManager],
        StudyAction.ViewSite => Roles.All.ToArray(),
        StudyAction.ViewAudit => [Role.Administrator, Role.StudyManager, Role.UnblindedStatistician, Role.MedicalMonitor],
        StudyAction.ImportKits => [Role.DepotManager],
        StudyAction.ManageShipments => [Role.DepotManager],
        StudyAction.ViewShipments => [Role.DepotManager, Role.Pharmacist, Role.StudyManager, Role.Administrator],
        StudyAction.ReceiveShipment => [Role.Pharmacist],
        StudyAction.ViewInventory => [Role.Pharmacist, Role.SiteCoordinator, Role.DepotManager, Role.StudyManager, Role.Administrator],
        StudyAction.Randomize => [Role.SiteCoordinator],
        StudyAction.Dispense => [Role.SiteCoordinator, Role.Pharmacist],
        StudyAction.Discontinue => [Role.SiteCoordinator, Role.UnblindingInvestigator],
        StudyAction.ViewSubject => [Role.SiteCoordinator, Role.Pharmacist, Role.UnblindingInvestigator, Role.StudyManager, Role.MedicalMonitor, Role.UnblindedStatistician, Role.Administrator],
        StudyAction.Unblind => [Role.UnblindingInvestigator, Role.UnblindedStatistician],
        StudyAction.ManageRandomizationList => [Role.UnblindedStatistician],
        _ => throw new ArgumentOutOfRangeException(nameof(action), action, null),
    };
}
