using Iwrs.Domain.Access;

namespace Iwrs.Domain.Tests.Access;

public sealed class StudyAccessTests
{
    private const string User = "user-1";
    private const string Study = "LJ-MCRC";
    private const string Allowed = "allowed";

    private static RoleAssignment Holds(Role role, string? site = null, string user = User, string? study = Study) =>
        new(user, role, study, site ?? (role.IsSiteScoped() ? "CN01" : null));

    private static StudyAccess Access(params RoleAssignment[] assignments) => new(User, Study, assignments, isAdministrator: false);

    /// <summary>The caller holding just <paramref name="role"/>; an administrator holds it outside the study.</summary>
    private static StudyAccess AccessAs(Role role) =>
        role == Role.Administrator
            ? new StudyAccess(User, Study, [Holds(Role.Administrator, study: null)], isAdministrator: true)
            : Access(Holds(role));

    private static readonly Dictionary<StudyAction, Role[]> Permitted = new()
    {
        [StudyAction.ViewStudy] = Enum.GetValues<Role>(),
        [StudyAction.ViewSite] = Enum.GetValues<Role>(),
        [StudyAction.ViewConfiguration] = [Role.Administrator, Role.UnblindedStatistician, Role.DepotManager],
        [StudyAction.LoadConfiguration] = [Role.Administrator, Role.UnblindedStatistician],
        [StudyAction.ManageRoles] = [Role.Administrator, Role.StudyManager],
        [StudyAction.ViewAudit] = [Role.Administrator, Role.StudyManager, Role.UnblindedStatistician, Role.MedicalMonitor],
        [StudyAction.ImportKits] = [Role.DepotManager],
        [StudyAction.ManageShipments] = [Role.DepotManager],
        [StudyAction.ViewShipments] = [Role.DepotManager, Role.Pharmacist, Role.StudyManager, Role.Administrator],
        [StudyAction.ReceiveShipment] = [Role.Pharmacist],
        [StudyAction.ViewInventory] = [Role.Pharmacist, Role.SiteCoordinator, Role.DepotManager, Role.StudyManager, Role.Administrator],
        [StudyAction.Randomize] = [Role.SiteCoordinator],
        [StudyAction.Dispense] = [Role.SiteCoordinator, Role.Pharmacist],
        [StudyAction.Discontinue] = [Role.SiteCoordinator, Role.UnblindingInvestigator],
        [StudyAction.ViewSubject] = [Role.SiteCoordinator, Role.Pharmacist, Role.UnblindingInvestigator, Role.StudyManager, Role.MedicalMonitor, Role.UnblindedStatistician, Role.Administrator],
        [StudyAction.Unblind] = [Role.UnblindingInvestigator, Role.UnblindedStatistician],
        [StudyAction.ManageRandomizationList] = [Role.UnblindedStatistician],
    };

    /// <summary>Every action for every role: "allowed", or the refusal code.</summary>
    public static TheoryData<StudyAction, Role, string> Matrix
    {
        get
        {
            var data = new TheoryData<StudyAction, Role, string>();
            foreach (var action in Enum.GetValues<StudyAction>())
            {
                foreach (var role in Enum.GetValues<Role>())
                {
                    var outcome = Permitted[action].Contains(role) ? Allowed
                        : action is StudyAction.ViewConfiguration or StudyAction.LoadConfiguration ? "unblinded-role-required"
                        : "not-authorized";
                    data.Add(action, role, outcome);
                }
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public void Authorize_ActionForRole_AllowedAsThatRoleOrRefusedWithCode(StudyAction action, Role role, string expected)
    {
        var result = AccessAs(role).Authorize(action, "CN01");

        if (expected == Allowed)
        {
            Assert.True(result.IsSuccess, result.Error?.Code);
            Assert.Equal(role, result.Value);
        }
        else if (role == Role.DepotManager && action == StudyAction.LoadConfiguration)
        {
            // A depot manager holds an unblinded role; whatever the wording, it may not load a configuration.
            Assert.False(result.IsSuccess);
        }
        else
        {
            Assert.False(result.IsSuccess, $"{role} may {action}");
            Assert.Equal(expected, result.Error!.Code);
        }
    }

    [Theory]
    [InlineData(Role.SiteCoordinator)]
    [InlineData(Role.Pharmacist)]
    [InlineData(Role.UnblindingInvestigator)]
    public void Authorize_SiteRoleViewsOtherSite_NotAuthorizedForSite(Role role)
    {
        var access = Access(Holds(role, "CN01"));

        Assert.Equal(role, access.Authorize(StudyAction.ViewSite, "CN01").Value);
        var refused = access.Authorize(StudyAction.ViewSite, "CN02");
        Assert.Equal("not-authorized-for-site", refused.Error?.Code);
        // No site named: the action is not bound to a site (the caller checks the site itself when it has one).
        Assert.Equal(role, access.Authorize(StudyAction.ViewSite, null).Value);
        Assert.Equal("not-authorized-for-site", access.Authorize(StudyAction.ViewSite, "cn01").Error?.Code);
    }

    [Theory]
    [InlineData(Role.DepotManager)]
    [InlineData(Role.StudyManager)]
    [InlineData(Role.MedicalMonitor)]
    [InlineData(Role.UnblindedStatistician)]
    [InlineData(Role.Administrator)]
    public void Authorize_StudyWideRoleViewsAnySite_Allowed(Role role)
    {
        var access = AccessAs(role);

        Assert.Equal(role, access.Authorize(StudyAction.ViewSite, "CN02").Value);
        Assert.Equal(role, access.Authorize(StudyAction.ViewSite, "CN03").Value);
    }

    [Fact]
    public void Authorize_SiteRolesAtTwoSites_EachSiteAsItsRole()
    {
        var access = Access(Holds(Role.Pharmacist, "CN01"), Holds(Role.SiteCoordinator, "CN02"));

        Assert.Equal(Role.Pharmacist, access.Authorize(StudyAction.ViewSite, "CN01").Value);
        Assert.Equal(Role.SiteCoordinator, access.Authorize(StudyAction.ViewSite, "CN02").Value);
        Assert.Equal("not-authorized-for-site", access.Authorize(StudyAction.ViewSite, "CN03").Error?.Code);
    }

    [Fact]
    public void Authorize_SiteAndStudyRoles_ReturnsTheRoleThatPermitsTheAction()
    {
        var access = Access(Holds(Role.SiteCoordinator, "CN01"), Holds(Role.StudyManager));

        Assert.Equal(Role.StudyManager, access.Authorize(StudyAction.ViewSite, "CN02").Value);
        Assert.Equal(Role.StudyManager, access.Authorize(StudyAction.ViewAudit).Value);
        Assert.Equal(Role.StudyManager, access.Authorize(StudyAction.ManageRoles).Value);
        Assert.Equal("unblinded-role-required", access.Authorize(StudyAction.ViewConfiguration).Error?.Code);
    }

    /// <summary>Pairs that separation of duties forbids, as stored before the rule (or left by a race across partitions).</summary>
    public static TheoryData<Role, Role, bool> ConflictingPairs => new()
    {
        { Role.MedicalMonitor, Role.UnblindedStatistician, false },
        { Role.SiteCoordinator, Role.UnblindedStatistician, false },
        { Role.Pharmacist, Role.DepotManager, false },
        { Role.StudyManager, Role.DepotManager, false },
        { Role.SiteCoordinator, Role.Administrator, true },
        { Role.StudyManager, Role.Administrator, true },
    };

    private static StudyAccess Holding(Role blinded, Role unblinded, bool administrator) =>
        administrator
            ? new StudyAccess(User, Study, [Holds(blinded)], isAdministrator: true)
            : Access(Holds(blinded), Holds(unblinded));

    [Theory]
    [MemberData(nameof(ConflictingPairs))]
    public void Authorize_BlindedAndUnblindedRoles_RefusesEveryActionAndShowsNothingUnblinded(Role blinded, Role unblinded, bool administrator)
    {
        var access = Holding(blinded, unblinded, administrator);

        Assert.True(access.HasRoleConflict);
        Assert.True(access.HasAnyRole);
        Assert.False(access.IsUnblinded);
        Assert.All(Enum.GetValues<StudyAction>(), action =>
        {
            var refused = access.Authorize(action, "CN01");
            Assert.Equal("not-authorized", refused.Error?.Code);
            Assert.Contains("a blinded and an unblinded role", refused.Error!.Message, StringComparison.Ordinal);
        });
        Assert.All(Enum.GetValues<Role>(), role => Assert.Equal("not-authorized", access.AuthorizeGrant(role, "someone-else").Error?.Code));
    }

    [Fact]
    public void HasRoleConflict_SameClassRolesOrConflictInAnotherStudy_False()
    {
        Assert.False(Access(Holds(Role.SiteCoordinator, "CN01"), Holds(Role.StudyManager), Holds(Role.MedicalMonitor)).HasRoleConflict);
        Assert.False(Access(Holds(Role.DepotManager), Holds(Role.UnblindedStatistician)).HasRoleConflict);
        Assert.False(new StudyAccess(User, Study, [Holds(Role.DepotManager)], isAdministrator: true).HasRoleConflict);
        Assert.False(Access(Holds(Role.SiteCoordinator), Holds(Role.UnblindedStatistician, study: "AKK-MCRC")).HasRoleConflict);
        Assert.False(new StudyAccess(User, Study, [Holds(Role.SiteCoordinator, study: "AKK-MCRC")], isAdministrator: true).HasRoleConflict);
    }

    [Theory]
    [InlineData(StudyAction.ViewStudy)]
    [InlineData(StudyAction.ViewConfiguration)]
    [InlineData(StudyAction.LoadConfiguration)]
    [InlineData(StudyAction.ManageRoles)]
    [InlineData(StudyAction.ViewSite)]
    [InlineData(StudyAction.ViewAudit)]
    public void Authorize_NoRoles_NotAuthorizedForStudy(StudyAction action)
    {
        var result = Access().Authorize(action, "CN01");

        Assert.Equal("not-authorized-for-study", result.Error?.Code);
        Assert.Contains(Study, result.Error!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_AssignmentsOfOtherUsersAndStudies_Ignored()
    {
        var access = Access(
            Holds(Role.Administrator, user: "someone-else", study: null),
            Holds(Role.UnblindedStatistician, user: "someone-else"),
            Holds(Role.StudyManager, study: "AKK-MCRC"),
            Holds(Role.DepotManager, study: "AKK-MCRC"),
            Holds(Role.Administrator, study: null));

        Assert.Empty(access.Assignments);
        Assert.False(access.HasAnyRole);
        Assert.False(access.IsUnblinded);
        Assert.Equal("not-authorized-for-study", access.Authorize(StudyAction.ViewStudy).Error?.Code);
        Assert.Equal("not-authorized-for-study", access.AuthorizeGrant(Role.Pharmacist).Error?.Code);
    }

    [Fact]
    public void Constructor_MixedAssignments_KeepsOnlyCallersInThisStudy()
    {
        var mine = Holds(Role.Pharmacist, "CN02");
        var access = Access(Holds(Role.StudyManager, user: "other"), mine, Holds(Role.DepotManager, study: "AKK-MCRC"));

        Assert.Equal([mine], access.Assignments);
        Assert.True(access.HasAnyRole);
        Assert.False(access.IsUnblinded);
        Assert.Equal("not-authorized-for-site", access.Authorize(StudyAction.ViewSite, "CN01").Error?.Code);
    }

    [Theory]
    [InlineData(Role.SiteCoordinator, false)]
    [InlineData(Role.Pharmacist, false)]
    [InlineData(Role.UnblindingInvestigator, false)]
    [InlineData(Role.StudyManager, false)]
    [InlineData(Role.MedicalMonitor, false)]
    [InlineData(Role.DepotManager, true)]
    [InlineData(Role.UnblindedStatistician, true)]
    [InlineData(Role.Administrator, true)]
    public void IsUnblinded_SingleRole_OnlyForUnblindedRoles(Role role, bool expected)
    {
        Assert.Equal(expected, AccessAs(role).IsUnblinded);
    }

    [Fact]
    public void IsUnblinded_BlindedRolePlusUnblindedRole_False()
    {
        Assert.False(Access(Holds(Role.StudyManager), Holds(Role.DepotManager)).IsUnblinded);
        Assert.False(Access(Holds(Role.StudyManager), Holds(Role.MedicalMonitor), Holds(Role.SiteCoordinator)).IsUnblinded);
        Assert.True(Access(Holds(Role.UnblindedStatistician), Holds(Role.DepotManager)).IsUnblinded);
    }

    [Theory]
    [MemberData(nameof(RoleTests.AllRoles), MemberType = typeof(RoleTests))]
    public void AuthorizeGrant_Administrator_AnyRole(Role role)
    {
        Assert.Equal(Role.Administrator, AccessAs(Role.Administrator).AuthorizeGrant(role).Value);
    }

    [Theory]
    [MemberData(nameof(RoleTests.AllRoles), MemberType = typeof(RoleTests))]
    public void AuthorizeGrant_StudyManager_BlindedRolesOnly(Role role)
    {
        var result = Access(Holds(Role.StudyManager)).AuthorizeGrant(role, "someone-else");

        if (role is Role.UnblindedStatistician or Role.Administrator or Role.DepotManager or Role.UnblindingInvestigator)
        {
            Assert.Equal("not-authorized", result.Error?.Code);
            Assert.Contains(role.Name(), result.Error!.Message, StringComparison.Ordinal);
        }
        else
        {
            Assert.Equal(Role.StudyManager, result.Value);
        }
    }

    [Theory]
    [InlineData(Role.SiteCoordinator)]
    [InlineData(Role.MedicalMonitor)]
    [InlineData(Role.StudyManager)]
    public void AuthorizeGrant_ToOneself_RefusedUnlessAdministrator(Role role)
    {
        Assert.Equal("not-authorized", Access(Holds(Role.StudyManager)).AuthorizeGrant(role, User).Error?.Code);
        Assert.Equal(Role.Administrator, AccessAs(Role.Administrator).AuthorizeGrant(role, User).Value);
    }

    [Theory]
    [InlineData(Role.SiteCoordinator)]
    [InlineData(Role.Pharmacist)]
    [InlineData(Role.UnblindingInvestigator)]
    [InlineData(Role.DepotManager)]
    [InlineData(Role.MedicalMonitor)]
    [InlineData(Role.UnblindedStatistician)]
    public void AuthorizeGrant_OtherRoles_RefusedForEveryRole(Role held)
    {
        var access = AccessAs(held);

        Assert.All(Enum.GetValues<Role>(), role => Assert.Equal("not-authorized", access.AuthorizeGrant(role).Error?.Code));
    }

    [Fact]
    public void AuthorizeGrant_StudyManagerOfAnotherStudy_NotAuthorizedForStudy()
    {
        var access = Access(Holds(Role.StudyManager, study: "AKK-MCRC"));

        Assert.Equal("not-authorized-for-study", access.AuthorizeGrant(Role.Pharmacist).Error?.Code);
    }
}
