using Iwrs.Domain.Access;

namespace Iwrs.Domain.Tests.Access;

public sealed class SeparationOfDutiesTests
{
    private const string User = "user-1";
    private const string Study = "LJ-MCRC";

    private static readonly Role[] StudyRoles = [.. Enum.GetValues<Role>().Where(r => r != Role.Administrator)];

    private static RoleAssignment Holds(Role role, string? study = Study, string user = User, string? site = null) =>
        new(user, role, role == Role.Administrator ? null : study, role.IsSiteScoped() ? site ?? "CN01" : null);

    /// <summary>Every blinded study role.</summary>
    public static TheoryData<Role> BlindedStudyRoles => [.. StudyRoles.Where(r => !r.IsUnblinded())];

    /// <summary>Every pair of study roles, with whether one is blinded and the other unblinded.</summary>
    public static TheoryData<Role, Role, bool> StudyRolePairs
    {
        get
        {
            var data = new TheoryData<Role, Role, bool>();
            foreach (var held in StudyRoles)
            {
                foreach (var granted in StudyRoles)
                {
                    data.Add(held, granted, held.IsUnblinded() != granted.IsUnblinded());
                }
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(StudyRolePairs))]
    public void CheckGrant_StudyRoleToHolderOfAnotherInTheSameStudy_RefusedExactlyWhenTheClassesDiffer(Role held, Role granted, bool conflicts)
    {
        var refusal = SeparationOfDuties.CheckGrant(Holds(granted, site: "CN02"), [Holds(held)], isAdministrator: false);

        if (conflicts)
        {
            Assert.Equal("role-conflict", refusal?.Code);
            Assert.Contains(held.Name(), refusal!.Message, StringComparison.Ordinal);
            Assert.Contains(granted.Name(), refusal.Message, StringComparison.Ordinal);
        }
        else
        {
            Assert.Null(refusal);
        }
    }

    [Fact]
    public void CheckGrant_CoordinatorToUnblindedStatistician_MessageNamesBothRolesAndTheirClasses()
    {
        var refusal = SeparationOfDuties.CheckGrant(Holds(Role.SiteCoordinator), [Holds(Role.UnblindedStatistician)], isAdministrator: false);

        Assert.Equal(
            "'user-1' holds unblinded-statistician in this study, which is unblinded; site-coordinator is blinded. " +
            "Nobody holds a blinded and an unblinded role in the same study.",
            refusal?.Message);
    }

    [Fact]
    public void CheckGrant_OppositeClassInAnotherStudyOrHeldBySomeoneElse_Allowed()
    {
        Assert.Null(SeparationOfDuties.CheckGrant(Holds(Role.SiteCoordinator), [Holds(Role.UnblindedStatistician, study: "AKK-MCRC")], isAdministrator: false));
        Assert.Null(SeparationOfDuties.CheckGrant(Holds(Role.SiteCoordinator), [Holds(Role.DepotManager, user: "user-2")], isAdministrator: false));
        Assert.Null(SeparationOfDuties.CheckGrant(Holds(Role.DepotManager), [Holds(Role.Pharmacist, study: "AKK-MCRC")], isAdministrator: false));
    }

    [Theory]
    [InlineData(Role.SiteCoordinator)]
    [InlineData(Role.Pharmacist)]
    [InlineData(Role.UnblindingInvestigator)]
    [InlineData(Role.StudyManager)]
    [InlineData(Role.MedicalMonitor)]
    public void CheckGrant_BlindedStudyRoleToAdministrator_Refused(Role granted)
    {
        var refusal = SeparationOfDuties.CheckGrant(Holds(granted), [], isAdministrator: true);

        Assert.Equal("role-conflict", refusal?.Code);
        Assert.Contains("is an administrator", refusal!.Message, StringComparison.Ordinal);
        Assert.Contains(granted.Name(), refusal.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Role.DepotManager)]
    [InlineData(Role.UnblindedStatistician)]
    public void CheckGrant_UnblindedStudyRoleToAdministrator_Allowed(Role granted)
    {
        Assert.Null(SeparationOfDuties.CheckGrant(Holds(granted), [], isAdministrator: true));
    }

    [Fact]
    public void CheckGrant_AdministratorToHolderOfABlindedRoleInAnyStudy_RefusedNamingRoleAndStudy()
    {
        var held = new[] { Holds(Role.DepotManager), Holds(Role.Pharmacist, study: "AKK-MCRC", site: "CN01") };

        var refusal = SeparationOfDuties.CheckGrant(Holds(Role.Administrator), held, isAdministrator: false);

        Assert.Equal("role-conflict", refusal?.Code);
        Assert.Equal(
            "'user-1' holds pharmacist at CN01 in study AKK-MCRC, and administrator is an unblinded role in every study. " +
            "Nobody holds a blinded and an unblinded role in the same study: revoke those roles first.",
            refusal!.Message);
    }

    [Fact]
    public void CheckGrant_AdministratorToHolderOfUnblindedRolesOnly_Allowed()
    {
        var held = new[] { Holds(Role.DepotManager), Holds(Role.UnblindedStatistician, study: "AKK-MCRC"), Holds(Role.Pharmacist, user: "user-2") };

        Assert.Null(SeparationOfDuties.CheckGrant(Holds(Role.Administrator), held, isAdministrator: false));
        Assert.Null(SeparationOfDuties.CheckGrant(Holds(Role.Administrator), [], isAdministrator: true));
    }

    [Theory]
    [MemberData(nameof(RoleTests.AllRoles), MemberType = typeof(RoleTests))]
    public void Mixes_EveryPair_ExactlyWhenOneIsBlindedAndTheOtherNot(Role role)
    {
        foreach (var other in Enum.GetValues<Role>())
        {
            Assert.Equal(role.IsUnblinded() != other.IsUnblinded(), SeparationOfDuties.Mixes([role, other]));
        }

        Assert.False(SeparationOfDuties.Mixes([role]));
        Assert.False(SeparationOfDuties.Mixes([]));
    }

    [Fact]
    public void FindConflicts_StudyAssignments_ListsEachMixedUserWithBothSides()
    {
        var assignments = new[]
        {
            Holds(Role.SiteCoordinator, user: "stat-1"),
            Holds(Role.UnblindedStatistician, user: "stat-1"),
            Holds(Role.Pharmacist, user: "stat-1", site: "CN02"),
            Holds(Role.SiteCoordinator, user: "coord-1"),
            Holds(Role.Pharmacist, user: "coord-1"),
            Holds(Role.DepotManager, user: "depot-1"),
            Holds(Role.UnblindedStatistician, user: "depot-1"),
            Holds(Role.StudyManager, user: "admin-1"),
            Holds(Role.DepotManager, user: "admin-2"),
            Holds(Role.MedicalMonitor, user: "other-study", study: "AKK-MCRC"),
            Holds(Role.DepotManager, user: "other-study"),
        };

        var conflicts = SeparationOfDuties.FindConflicts(Study, assignments, new HashSet<string>(["admin-1", "admin-2", "other-study-admin"]));

        Assert.Equal(["admin-1", "stat-1"], conflicts.Select(c => c.UserId));
        Assert.All(conflicts, c => Assert.Equal(Study, c.StudyId));
        Assert.Equal([Holds(Role.StudyManager, user: "admin-1")], conflicts[0].Blinded);
        Assert.Equal([new RoleAssignment("admin-1", Role.Administrator, null, null)], conflicts[0].Unblinded);
        Assert.Equal([Holds(Role.SiteCoordinator, user: "stat-1"), Holds(Role.Pharmacist, user: "stat-1", site: "CN02")], conflicts[1].Blinded);
        Assert.Equal([Holds(Role.UnblindedStatistician, user: "stat-1")], conflicts[1].Unblinded);
    }

    [Fact]
    public void FindConflicts_NoMixedUser_Empty()
    {
        var assignments = new[] { Holds(Role.SiteCoordinator), Holds(Role.StudyManager), Holds(Role.DepotManager, user: "user-2") };

        Assert.Empty(SeparationOfDuties.FindConflicts(Study, assignments, new HashSet<string>(["user-2"])));
    }

    private static readonly DateTimeOffset At = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);

    private static UnblindedHistory History(Role role, string? study = Study, string user = User) =>
        UnblindedHistory.After(null, Holds(role, study, user), "admin-1", At)!;

    [Theory]
    [InlineData(Role.SiteCoordinator)]
    [InlineData(Role.Pharmacist)]
    [InlineData(Role.UnblindingInvestigator)]
    [InlineData(Role.StudyManager)]
    [InlineData(Role.MedicalMonitor)]
    public void CheckGrant_BlindedRoleToAFormerUnblindedHolder_RefusedThoughTheyHoldNothingNow(Role granted)
    {
        var refusal = SeparationOfDuties.CheckGrant(Holds(granted), [], isAdministrator: false, History(Role.DepotManager));

        Assert.Equal("role-conflict", refusal?.Code);
        Assert.Equal(
            $"'user-1' was unblinded in this study before (depot-manager); {granted.Name()} is blinded. " +
            "Revoking a role does not undo what its holder saw: whoever held an unblinded role in a study is never given a blinded one there.",
            refusal!.Message);
    }

    [Fact]
    public void CheckGrant_UnblindedRoleAfterUnblindedHistory_OrHistoryOfAnotherStudyOrUser_Allowed()
    {
        Assert.Null(SeparationOfDuties.CheckGrant(Holds(Role.UnblindedStatistician), [], isAdministrator: false, History(Role.DepotManager)));
        Assert.Null(SeparationOfDuties.CheckGrant(Holds(Role.DepotManager), [], isAdministrator: false, History(Role.DepotManager)));
        Assert.Null(SeparationOfDuties.CheckGrant(Holds(Role.SiteCoordinator), [], isAdministrator: false, History(Role.DepotManager, study: "AKK-MCRC")));
        Assert.Null(SeparationOfDuties.CheckGrant(Holds(Role.SiteCoordinator), [], isAdministrator: false, History(Role.DepotManager, user: "user-2")));
    }

    [Fact]
    public void CheckGrant_FormerBlindedHolderGivenAnUnblindedRole_AllowedOnceTheyHoldNoBlindedRole()
    {
        // Nothing records a blinded past: an unblinded role is refused only while a blinded one is held.
        Assert.Null(SeparationOfDuties.CheckGrant(Holds(Role.DepotManager), [], isAdministrator: false));
        Assert.Equal("role-conflict", SeparationOfDuties.CheckGrant(Holds(Role.DepotManager), [Holds(Role.Pharmacist)], isAdministrator: false)?.Code);
    }

    [Fact]
    public void UnblindedHistoryAfter_UnblindedStudyGrants_StartsThenAddsEachNewRoleKeepingTheFirstGrant()
    {
        var first = UnblindedHistory.After(null, Holds(Role.DepotManager), "admin-1", At)!;
        Assert.Equal((User, Study, "admin-1", At), (first.UserId, first.StudyId, first.FirstGrantedBy, first.FirstGrantedAt));
        Assert.Equal([Role.DepotManager], first.Roles);

        Assert.Null(UnblindedHistory.After(first, Holds(Role.DepotManager), "admin-2", At.AddDays(3)));
        var second = UnblindedHistory.After(first, Holds(Role.UnblindedStatistician), "admin-2", At.AddDays(3))!;
        Assert.Equal([Role.DepotManager, Role.UnblindedStatistician], second.Roles);
        Assert.Equal(("admin-1", At), (second.FirstGrantedBy, second.FirstGrantedAt));
    }

    [Fact]
    public void UnblindedHistoryAfter_OlderRoleBackfilled_BecomesTheFirstGrant()
    {
        // A depot manager granted before histories were kept, revoked after a later statistician grant wrote one.
        var later = UnblindedHistory.After(null, Holds(Role.UnblindedStatistician), "admin-2", At)!;
        var backfilled = UnblindedHistory.After(later, Holds(Role.DepotManager), "legacy-admin", At.AddYears(-1))!;

        Assert.Equal([Role.DepotManager, Role.UnblindedStatistician], backfilled.Roles);
        Assert.Equal(("legacy-admin", At.AddYears(-1)), (backfilled.FirstGrantedBy, backfilled.FirstGrantedAt));
    }

    [Theory]
    [InlineData(Role.SiteCoordinator)]
    [InlineData(Role.StudyManager)]
    public void UnblindedHistoryAfter_BlindedGrant_NoHistory(Role granted)
    {
        Assert.Null(UnblindedHistory.After(null, Holds(granted), "admin-1", At));
    }

    [Fact]
    public void UnblindedHistoryAfter_Administrator_HistoryOfAllStudies_OnceOnly()
    {
        var history = UnblindedHistory.After(null, Holds(Role.Administrator), "admin-1", At)!;

        Assert.Equal((User, UnblindedHistory.AllStudies, "admin-1", At), (history.UserId, history.StudyId, history.FirstGrantedBy, history.FirstGrantedAt));
        Assert.Equal([Role.Administrator], history.Roles);
        Assert.Null(UnblindedHistory.After(history, Holds(Role.Administrator), "admin-2", At.AddDays(1)));
    }

    [Theory]
    [MemberData(nameof(BlindedStudyRoles))]
    public void CheckGrant_BlindedRoleToAFormerAdministrator_RefusedInEveryStudy(Role granted)
    {
        var formerAdministrator = History(Role.Administrator);
        foreach (var study in new[] { Study, "AKK-MCRC" })
        {
            var refusal = SeparationOfDuties.CheckGrant(Holds(granted, study), [], isAdministrator: false, administratorHistory: formerAdministrator);

            Assert.Equal("role-conflict", refusal?.Code);
            Assert.Equal(
                $"'user-1' was an administrator before, an unblinded role in every study; {granted.Name()} is blinded. " +
                "Revoking a role does not undo what its holder saw: whoever was an administrator is never given a blinded role.",
                refusal!.Message);
        }
    }

    [Fact]
    public void CheckGrant_FormerAdministrator_UnblindedRolesAllowed_OtherUsersUntouched()
    {
        var formerAdministrator = History(Role.Administrator);

        Assert.Null(SeparationOfDuties.CheckGrant(Holds(Role.DepotManager), [], isAdministrator: false, administratorHistory: formerAdministrator));
        Assert.Null(SeparationOfDuties.CheckGrant(Holds(Role.Administrator), [], isAdministrator: false, administratorHistory: formerAdministrator));
        Assert.Null(SeparationOfDuties.CheckGrant(Holds(Role.SiteCoordinator, user: "user-2"), [], isAdministrator: false, administratorHistory: formerAdministrator));

        // A study history passed where the administrator's belongs does not count as one.
        Assert.Null(SeparationOfDuties.CheckGrant(Holds(Role.SiteCoordinator, "AKK-MCRC"), [], isAdministrator: false, administratorHistory: History(Role.DepotManager)));
    }

    [Fact]
    public void Combined_StudyAndAdministratorHistories_RolesInOrderFirstGranted_EarlierFirstGrant()
    {
        var depot = History(Role.DepotManager);
        var administrator = UnblindedHistory.After(null, Holds(Role.Administrator), "boot", At.AddDays(-5))!;

        var combined = UnblindedHistory.Combined(depot, administrator)!;

        Assert.Equal((Study, "boot", At.AddDays(-5)), (combined.StudyId, combined.FirstGrantedBy, combined.FirstGrantedAt));
        Assert.Equal([Role.Administrator, Role.DepotManager], combined.Roles);
        Assert.Same(depot, UnblindedHistory.Combined(depot, null));
        Assert.Same(administrator, UnblindedHistory.Combined(null, administrator));
        Assert.Null(UnblindedHistory.Combined(null, null));
    }

    [Fact]
    public void FindConflicts_BlindedHolderWhoWasAnAdministrator_ListedInTheirStudy()
    {
        var assignments = new[] { Holds(Role.SiteCoordinator, user: "was-admin"), Holds(Role.Pharmacist, user: "never") };
        var histories = new[] { History(Role.Administrator, user: "was-admin"), History(Role.DepotManager, user: "was-admin") };

        var conflict = Assert.Single(SeparationOfDuties.FindConflicts(Study, assignments, new HashSet<string>(), histories));

        Assert.Equal("was-admin", conflict.UserId);
        Assert.Empty(conflict.Unblinded);
        Assert.Equal([Role.DepotManager, Role.Administrator], conflict.FormerlyUnblinded!.Roles);
        Assert.Empty(SeparationOfDuties.FindConflicts(Study, assignments, new HashSet<string>(), [History(Role.DepotManager, study: "AKK-MCRC", user: "was-admin")]));
    }

    [Fact]
    public void FindConflicts_BlindedHolderWithUnblindedHistory_ListedWithIt_HistoryAloneNot()
    {
        var assignments = new[] { Holds(Role.SiteCoordinator, user: "was-depot"), Holds(Role.UnblindedStatistician, user: "still-unblinded"), Holds(Role.Pharmacist, user: "never") };
        var histories = new[] { History(Role.DepotManager, user: "was-depot"), History(Role.DepotManager, user: "still-unblinded"), History(Role.DepotManager, study: "AKK-MCRC", user: "never") };

        var conflict = Assert.Single(SeparationOfDuties.FindConflicts(Study, assignments, new HashSet<string>(), histories));

        Assert.Equal(("was-depot", Study), (conflict.UserId, conflict.StudyId));
        Assert.Equal([Holds(Role.SiteCoordinator, user: "was-depot")], conflict.Blinded);
        Assert.Empty(conflict.Unblinded);
        Assert.Equal([Role.DepotManager], conflict.FormerlyUnblinded!.Roles);
    }
}
